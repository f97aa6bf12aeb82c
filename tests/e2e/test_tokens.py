"""API tokens expire, revoking or expiring one takes effect on the next request, and failed
sign-ins (wrong tokens, wrong passwords) are limited per client and per account, in the
database, so every process of the server counts the same failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text as sql

from qa_service.accounts import AccountError, SignInRefused
from qa_service.app import create_app
from qa_service.cli import main
from qa_service.service import build_service
from tests.conftest import Client
from tests.e2e.pages import PASSWORD, person, sign_in, text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
PLANS = "/api/plans"


def at(moment: datetime):
    return lambda: moment


def from_client(client: Client, address: str, path: str = PLANS):
    return client.get(path, environ_base={"REMOTE_ADDR": address})


def test_a_token_lasts_90_days_unless_its_issuer_says_otherwise(service):
    accounts = service.accounts
    accounts.clock = at(NOW)
    accounts.add("Sam Jones", "auditor")
    accounts.add("Temp Worker", "auditor", expires_in_days=7)
    assert accounts.user("Sam Jones").token_expires_at == datetime(2026, 5, 31, 9, tzinfo=UTC)
    assert accounts.user("Temp Worker").token_expires_at == datetime(2026, 3, 9, 9, tzinfo=UTC)
    accounts.clock = at(NOW + timedelta(days=1))
    accounts.new_token("Temp Worker", expires_in_days=30)
    assert accounts.user("Temp Worker").token_expires_at == datetime(2026, 4, 2, 9, tzinfo=UTC)
    with pytest.raises(AccountError, match="1 to 3650 days"):
        accounts.add("Forever", "auditor", expires_in_days=100_000)
    with pytest.raises(AccountError, match="no active user"):
        accounts.new_token("No One")


def test_the_default_comes_from_the_settings(settings):
    from dataclasses import replace

    with build_service(replace(settings, token_days=30)) as svc:
        svc.accounts.clock = at(NOW)
        svc.accounts.add("Short Stay", "inspector")
        assert svc.accounts.user("Short Stay").token_expires_at == NOW + timedelta(days=30)


def test_an_expired_token_is_refused_on_the_next_request_saying_when_and_what_to_do(service, app):
    service.accounts.clock = at(NOW)
    client = Client(app.test_client(), service.accounts.add("Sam Jones", "auditor"))
    assert client.get(PLANS).status_code == 200
    service.accounts.clock = at(datetime(2026, 5, 31, 8, 59, tzinfo=UTC))
    assert client.get(PLANS).status_code == 200  # a minute to go
    service.accounts.clock = at(datetime(2026, 5, 31, 9, 0, tzinfo=UTC))
    expired = client.get(PLANS)
    assert expired.status_code == 401
    assert expired.json["message"] == (
        "the token expired on 2026-05-31 09:00 UTC: ask an admin for a new one "
        "(`qa-service users token NAME`)"
    )
    assert 'error_description="expired"' in expired.headers["WWW-Authenticate"]
    # A token nobody was ever given says nothing of expiry, nor of anyone.
    unknown = Client(app.test_client(), "a-token-nobody-was-given").get(PLANS)
    assert unknown.status_code == 401
    assert unknown.json["message"] == "the token is not known or was revoked"
    # A new token works at once; the old one stays refused.
    fresh = Client(app.test_client(), service.accounts.new_token("Sam Jones"))
    assert fresh.get(PLANS).status_code == 200
    assert client.get(PLANS).status_code == 401


def test_revoking_or_replacing_a_token_takes_effect_on_the_next_request(service, app):
    first = service.accounts.add("Sam Jones", "auditor")
    other_process = create_app(service.settings, service=build_service(service.settings))
    try:
        here = Client(app.test_client(), first)
        there = Client(other_process.test_client(), first)
        assert here.get(PLANS).status_code == there.get(PLANS).status_code == 200
        second = service.accounts.new_token("Sam Jones")
        assert here.get(PLANS).status_code == there.get(PLANS).status_code == 401
        here.token = there.token = second
        assert here.get(PLANS).status_code == there.get(PLANS).status_code == 200
        service.accounts.revoke("Sam Jones")
        assert here.get(PLANS).status_code == there.get(PLANS).status_code == 401
    finally:
        other_process.extensions["qa_service"].close()


def test_users_add_token_and_list_say_when_each_token_expires(settings, service, monkeypatch):
    monkeypatch.setenv("QA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("QA_DATABASE_SCHEMA", settings.schema)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    today = datetime.now(UTC)
    added = run("users", "add", "Sam Jones", "--role", "auditor", "--expires-in-days", "7")
    week = today + timedelta(days=7)
    assert f"expires {week:%Y-%m-%d}" in added
    token = added.strip().splitlines()[-1]
    run("users", "add", "Mo Manager", "--role", "manager")
    renewed = run("users", "token", "Mo Manager", "--expires-in-days", "30")
    assert f"expires {today + timedelta(days=30):%Y-%m-%d}" in renewed
    assert "old one no longer works" in renewed
    with service.engine.begin() as conn:
        conn.execute(
            sql("UPDATE qa_users SET token_expires_at = :t WHERE name = 'Sam Jones'"),
            {"t": datetime(2026, 1, 5, 12, tzinfo=UTC)},
        )
    listing = {line[:30].strip(): line for line in run("users", "list").splitlines()}
    assert "active" in listing["Sam Jones"]
    assert "token expired 2026-01-05 12:00 UTC" in listing["Sam Jones"]
    assert f"token expires {today + timedelta(days=30):%Y-%m-%d}" in listing["Mo Manager"]
    assert token not in run("users", "list")
    bad = runner.invoke(main, ["users", "token", "Sam Jones", "--expires-in-days", "0"])
    assert bad.exit_code != 0 and "--expires-in-days" in bad.output
    gone = runner.invoke(main, ["users", "token", "No One"])
    assert gone.exit_code != 0 and "no active user called 'No One'" in gone.output


def test_wrong_tokens_from_one_client_are_limited_and_other_clients_are_not(service, app):
    service.accounts.clock = at(NOW)
    good = Client(app.test_client(), service.accounts.add("Sam Jones", "auditor"))
    guesser = Client(app.test_client(), "a guess")
    for _ in range(10):  # the first ten failures are free
        assert from_client(guesser, "203.0.113.9").status_code == 401
    limited = from_client(guesser, "203.0.113.9")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json["message"] == (
        "too many failed sign-ins from this client lately: try again in 1 second"
    )
    # While it waits, even a good token from there is refused unchecked, so a guess
    # that happened to be right would not be told apart.
    assert from_client(good, "203.0.113.9").status_code == 429
    assert from_client(good, "198.51.100.7").status_code == 200  # another client
    assert from_client(Client(app.test_client(), "a guess"), "198.51.100.7").status_code == 401
    # Each failure after the free ones doubles the wait, up to a minute.
    service.accounts.clock = at(NOW + timedelta(seconds=1))
    assert from_client(guesser, "203.0.113.9").status_code == 401
    assert from_client(guesser, "203.0.113.9").headers["Retry-After"] == "2"
    service.accounts.clock = at(NOW + timedelta(seconds=3))
    assert from_client(good, "203.0.113.9").status_code == 200
    # A quarter of an hour without a failure, and they are forgotten.
    service.accounts.clock = at(NOW + timedelta(minutes=20))
    for _ in range(10):
        assert from_client(guesser, "203.0.113.9").status_code == 401


def test_a_request_with_no_token_is_not_a_failure(service, app):
    service.accounts.clock = at(NOW)
    anonymous = Client(app.test_client(), None)
    for _ in range(15):
        assert from_client(anonymous, "203.0.113.9").status_code == 401
    with service.engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM qa_auth_failures")).scalar_one() == 0


def test_the_limit_holds_across_two_processes_sharing_the_store(service, app):
    """Two app instances, each with its own service and connection pool, as gunicorn's
    two processes have: their failures add up."""
    other = build_service(service.settings)
    try:
        for svc in (service, other):
            svc.accounts.clock = at(NOW)
        second = create_app(service.settings, service=other, TESTING=True)
        one, two = Client(app.test_client(), "guess"), Client(second.test_client(), "guess")
        for _ in range(5):
            assert from_client(one, "203.0.113.9").status_code == 401
            assert from_client(two, "203.0.113.9").status_code == 401
        assert from_client(one, "203.0.113.9").status_code == 429
        assert from_client(two, "203.0.113.9").status_code == 429
        assert from_client(two, "198.51.100.7").status_code == 401
    finally:
        other.close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(settings):
    from dataclasses import replace

    def limited_after_guesses(trusted: int, spoof: bool) -> int:
        with build_service(replace(settings, trusted_proxies=trusted)) as svc:
            svc.accounts.clock = at(NOW)
            with svc.engine.begin() as conn:
                conn.execute(sql("DELETE FROM qa_auth_failures"))
            app = create_app(svc.settings, service=svc, TESTING=True)
            guesser = app.test_client()
            for n in range(20):
                forwarded = f"192.0.2.{n if spoof else 1}, 203.0.113.9"
                answer = guesser.get(
                    PLANS,
                    headers={"Authorization": "Bearer guess", "X-Forwarded-For": forwarded},
                    environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the proxy
                )
                if answer.status_code == 429:
                    return n
            return -1

    # One trusted proxy: the address it saw (the last in the header) is the client, and
    # what the client wrote before it changes nothing.
    assert limited_after_guesses(trusted=1, spoof=True) == 10
    # Two: each forwarded address counts on its own.
    assert limited_after_guesses(trusted=2, spoof=True) == -1
    assert limited_after_guesses(trusted=2, spoof=False) == 10
    # None trusted (the default): the header is ignored.
    assert limited_after_guesses(trusted=0, spoof=True) == 10


def test_password_sign_in_is_limited_per_account_and_per_client(service, app):
    person(service, "Mo Manager", "manager")
    person(service, "Ann Auditor", "auditor")
    accounts = service.accounts
    # Per account: three wrong passwords for one name, from anywhere, and it waits.
    for n in range(3):
        with pytest.raises(SignInRefused, match="not right"):
            accounts.sign_in("Mo Manager", "wrong password!", NOW, client=f"192.0.2.{n}")
    with pytest.raises(SignInRefused, match="for this name: try again in 1 second"):
        accounts.sign_in("Mo Manager", PASSWORD, NOW, client="198.51.100.7")
    # Per client: ten failures from one address, for any names, and it waits, whoever
    # signs in from there next; from elsewhere they sign in.
    for n in range(10):
        with pytest.raises(SignInRefused, match="not right"):
            accounts.sign_in(f"Guess {n}", "password123456", NOW, client="203.0.113.9")
    with pytest.raises(SignInRefused, match="from this client: try again in 1 second") as waited:
        accounts.sign_in("Ann Auditor", PASSWORD, NOW, client="203.0.113.9")
    assert waited.value.wait == 1
    assert accounts.sign_in("Ann Auditor", PASSWORD, NOW, client="198.51.100.7").user.name
    # Wrong tokens from an address count against it too: one list of failures per client.
    later = NOW + timedelta(minutes=30)
    accounts.clock = at(later)
    for _ in range(10):
        response = app.test_client().get(
            PLANS,
            headers={"Authorization": "Bearer guess"},
            environ_base={"REMOTE_ADDR": "192.0.2.200"},
        )
        assert response.status_code == 401
    with pytest.raises(SignInRefused, match="from this client"):
        accounts.sign_in("Ann Auditor", PASSWORD, later, client="192.0.2.200")


def test_the_sign_in_page_answers_429_with_retry_after_while_a_client_waits(service, app):
    person(service, "Mo Manager", "manager")
    service.accounts.clock = at(NOW)
    browser = app.test_client()
    for _ in range(3):
        assert sign_in(browser, "Mo Manager", "wrong password!").status_code == 200
    waiting = sign_in(browser, "Mo Manager")
    assert waiting.status_code == 429
    assert waiting.headers["Retry-After"] == "1"
    assert "Too many failed sign-ins for this name: try again in 1 second" in text(waiting)


def test_failures_counted_at_the_same_moment_are_all_counted(service, app):
    """Eight threads across two app instances, as gunicorn's 2 x 4: no failure is lost."""
    from concurrent.futures import ThreadPoolExecutor

    other = build_service(service.settings)
    try:
        second = create_app(service.settings, service=other, TESTING=True)

        def guess(n: int) -> int:
            client = (app if n % 2 else second).test_client()
            return client.get(
                PLANS,
                headers={"Authorization": f"Bearer guess {n}"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"},
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(guess, range(24)))
        assert set(answers) <= {401, 429} and answers.count(401) >= 10
        with service.engine.connect() as conn:
            counted = conn.execute(sql("SELECT failures FROM qa_auth_failures")).scalar_one()
        assert counted == answers.count(401)  # a refusal while waiting is not counted
    finally:
        other.close()
