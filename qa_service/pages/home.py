"""Each role's home page: what they came to do, one link each."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from qa_service.pages.common import blp, person, signed_in


@blp.get("/")
def root() -> Any:
    return redirect(url_for("pages.home" if person() else "pages.sign_in"))


@blp.get("/home")
@signed_in()
def home() -> Any:
    return render_template("home.html")
