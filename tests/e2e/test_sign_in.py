"""Signing in to the pages: passwords, sessions, CSRF, slowing down guessing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qa_service.accounts import AccountError, SignInRefused
from tests.e2e.pages import PASSWORD, csrf, person, sign_in, text


@pytest.fixture
def browser(app):
    return app.test_client()


def test_a_person_signs_in_sees_their_home_and_signs_out(service, browser):
    person(service, "Mo Manager", "manager")
    assert browser.get("/").headers["Location"].endswith("/sign-in")
    signed = sign_in(browser, "Mo Manager")
    assert signed.status_code == 302 and signed.headers["Location"] == "/home"
    home = browser.get("/home")
    assert "Manager: what you can do here" in text(home)
    assert "Mo Manager (manager)" in text(home)
    out = browser.post("/sign-out", data={"csrf_token": csrf(home)})
    assert out.headers["Location"] == "/sign-in?signed_out=1"
    assert "You have signed out." in text(browser.get(out.headers["Location"]))
    assert browser.get("/home").headers["Location"].startswith("/sign-in")


def test_the_session_cookie_is_httponly_samesite_lax_and_expires_when_idle(app, service):
    person(service, "Ann Auditor", "auditor")
    cookie = sign_in(app.test_client(), "Ann Auditor").headers["Set-Cookie"]
    assert cookie.startswith("qa_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie and "Secure" not in cookie  # plain HTTP in tests
    https = app.test_client()
    form = https.get("/sign-in", base_url="https://qa.example")
    data = {"csrf_token": csrf(form), "name": "Ann Auditor", "password": PASSWORD}
    no_referer = https.post("/sign-in", data=data, base_url="https://qa.example")
    assert no_referer.status_code == 400  # over HTTPS a form must come from this site
    referer = {"Referer": "https://qa.example/sign-in"}  # as a browser sends (same-origin)
    secure = https.post("/sign-in", data=data, base_url="https://qa.example", headers=referer)
    assert "Secure" in secure.headers["Set-Cookie"]


def test_a_wrong_password_is_said_plainly_and_nothing_else_is_told(service, browser):
    person(service, "Mo Manager", "manager")
    wrong = sign_in(browser, "Mo Manager", "not the password at all")
    assert wrong.status_code == 200
    page = text(wrong)
    assert "There is a problem" in page and "The name or the password is not right" in page
    nobody = text(sign_in(browser, "No One", "not the password at all"))
    assert "The name or the password is not right" in nobody  # the same: no one is revealed
    empty = text(sign_in(browser, "", ""))
    assert "Enter your name" in empty and "Enter your password" in empty


def test_repeated_failures_make_the_next_try_wait(service):
    person(service, "Mo Manager", "manager")
    accounts = service.accounts
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for _ in range(3):  # the first few are free
        with pytest.raises(SignInRefused, match="not right"):
            accounts.sign_in("Mo Manager", "wrong password!", now=start)
    with pytest.raises(SignInRefused, match="try again in 1 second$"):
        accounts.sign_in("Mo Manager", PASSWORD, now=start)  # even the right one waits
    later = start + timedelta(seconds=1)
    with pytest.raises(SignInRefused, match="not right"):
        accounts.sign_in("Mo Manager", "wrong password!", now=later)
    with pytest.raises(SignInRefused, match="try again in 2 seconds") as waiting:
        accounts.sign_in("Mo Manager", PASSWORD, now=later + timedelta(milliseconds=100))
    assert waiting.value.wait == 2
    signed = accounts.sign_in("Mo Manager", PASSWORD, now=later + timedelta(seconds=2))
    assert signed.user.role == "manager"
    # A success clears the count.
    with pytest.raises(SignInRefused, match="not right"):
        accounts.sign_in("Mo Manager", "wrong password!", now=later + timedelta(seconds=3))


def test_a_form_without_its_csrf_token_is_refused(service, browser):
    person(service, "Mo Manager", "manager")
    forged = browser.post("/sign-in", data={"name": "Mo Manager", "password": PASSWORD})
    assert forged.status_code == 400
    assert "The form had expired or did not come from this service" in text(forged)
    assert browser.get("/home").status_code == 302  # not signed in
    with browser.session_transaction() as session:
        assert "name" not in session and "stamp" not in session


def test_only_a_path_on_this_site_is_followed_after_signing_in(service, browser):
    person(service, "Mo Manager", "manager")
    there = sign_in(browser, "Mo Manager", next="/home?x=1")
    assert there.headers["Location"] == "/home?x=1"
    browser.post("/sign-out", data={"csrf_token": csrf(browser.get("/home"))})
    away = sign_in(browser, "Mo Manager", next="https://evil.example/")
    assert away.headers["Location"] == "/home"
    browser.post("/sign-out", data={"csrf_token": csrf(browser.get("/home"))})
    away = sign_in(browser, "Mo Manager", next="//evil.example/")
    assert away.headers["Location"] == "/home"


def test_a_revoked_person_or_a_changed_password_ends_the_session(service, browser):
    person(service, "Mo Manager", "manager")
    sign_in(browser, "Mo Manager")
    assert browser.get("/home").status_code == 200
    service.accounts.set_password("Mo Manager", "another long password")
    assert browser.get("/home").headers["Location"].startswith("/sign-in")
    sign_in(browser, "Mo Manager", "another long password")
    assert browser.get("/home").status_code == 200
    service.accounts.revoke("Mo Manager")
    assert browser.get("/home").headers["Location"].startswith("/sign-in")


def test_passwords_are_long_and_stored_only_as_argon2_hashes(service):
    from sqlalchemy import text as sql

    person(service, "Mo Manager", "manager")
    with pytest.raises(AccountError, match="at least 12 characters"):
        service.accounts.set_password("Mo Manager", "short")
    with service.engine.connect() as conn:
        stored = conn.execute(sql("SELECT password_hash FROM qa_users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_api_tokens_keep_working_and_the_api_answers_json_errors(service, as_role):
    assert as_role("manager").get("/api/plans").status_code == 200
    missing = as_role("manager").get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.json["code"] == 404
    page = as_role(None).get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in text(page)
