"""Helpers for page tests through Flask's test client: people with passwords, the CSRF
token a form carries, signing in."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "correct horse battery staple"


def person(service: Any, name: str, role: str, password: str = PASSWORD) -> str:
    service.accounts.add(name, role)
    service.accounts.set_password(name, password)
    return name


def csrf(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: Any, name: str, password: str = PASSWORD, **extra: str) -> Any:
    form = client.get("/sign-in")
    data = {"csrf_token": csrf(form), "name": name, "password": password, **extra}
    return client.post("/sign-in", data=data)


def text(page: Any) -> str:
    """What a person reads: the page's text, tags dropped, spaces collapsed."""
    html = page.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
