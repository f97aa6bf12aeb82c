"""Signing in and out."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, session, url_for

from qa_service.accounts import SignInRefused, client_address
from qa_service.pages.common import blp, person, safe_next, service


@blp.get("/sign-in")
def sign_in() -> Any:
    if person() is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("pages.home"))
    return render_template("sign_in.html", errors={}, name="", next=request.args.get("next"))


@blp.post("/sign-in")
def sign_in_post() -> Any:
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    wait = 0
    if not name:
        errors["name"] = "Enter your name, as your administrator set it up"
    if not password:
        errors["password"] = "Enter your password"
    if not errors:
        svc = service()
        forwarded = ", ".join(request.headers.getlist("X-Forwarded-For"))
        client = client_address(request.remote_addr, forwarded, svc.settings.trusted_proxies)
        try:
            signed = svc.accounts.sign_in(name, password, client=client)
        except SignInRefused as refused:
            errors["password"] = str(refused).capitalize()
            wait = refused.wait
        else:
            session.clear()  # a new session for a new sign-in (no fixation)
            session.permanent = True
            session["name"] = signed.user.name
            session["stamp"] = signed.stamp
            g.pop("person", None)
            return redirect(safe_next(request.form.get("next")) or url_for("pages.home"))
    page = render_template("sign_in.html", errors=errors, name=name, next=request.form.get("next"))
    if wait:  # too many failures lately: said on the page, and to the browser
        return page, 429, {"Retry-After": str(wait)}
    return page


@blp.post("/sign-out")
def sign_out() -> Any:
    session.clear()
    return redirect(url_for("pages.sign_in", signed_out=1))
