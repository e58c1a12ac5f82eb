"""Password guessing at the PC sign-in: 5 failures per username and 30 per address in 15 minutes,
a success clears the username's count, and an address that signed the user in lately is never
locked out by someone else's guesses."""

from __future__ import annotations

import threading

import pytest
from redis import Redis

from models import Role, db
from tests.conftest import TEST_PASSWORD

SESSION = "/api/v1/session"
HOME, OFFICE, ATTACKER = "192.0.2.10", "192.0.2.20", "198.51.100.66"


@pytest.fixture
def manager(factory):
    institution = factory.institution()
    return factory.user(Role.EQUIPMENT_MANAGER, institution=institution, username="zhangsan")


def attempt(client, username: str, password: str, address: str, **kwargs):
    return client.post(
        SESSION, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}, **kwargs
    )


def assert_locked(response, minutes: int = 15) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["error"]["message"] == f"尝试次数过多，请 {minutes} 分钟后再试"
    assert 0 < int(response.headers["Retry-After"]) <= minutes * 60


def test_five_failures_lock_the_username_even_for_the_right_password(client, manager):
    for _ in range(5):
        assert attempt(client, "zhangsan", "wrong", ATTACKER).status_code == 401
    assert_locked(attempt(client, "zhangsan", TEST_PASSWORD, ATTACKER))
    assert_locked(attempt(client, "zhangsan", TEST_PASSWORD, HOME))  # a new address does not help
    # Another username from the same address is not locked by these.
    assert attempt(client, "lisi", "wrong", ATTACKER).status_code == 401


def test_a_success_clears_the_usernames_count(client, manager):
    for _ in range(4):
        assert attempt(client, "zhangsan", "wrong", HOME).status_code == 401
    assert attempt(client, "zhangsan", TEST_PASSWORD, HOME).status_code == 200
    for _ in range(4):
        assert attempt(client, "zhangsan", "wrong", HOME).status_code == 401
    assert attempt(client, "zhangsan", TEST_PASSWORD, HOME).status_code == 200


def test_an_address_that_signed_the_user_in_is_not_locked_out_by_an_attacker(client, manager):
    assert attempt(client, "zhangsan", TEST_PASSWORD, OFFICE).status_code == 200
    for _ in range(10):
        response = attempt(client, "zhangsan", "guess", ATTACKER)
    assert_locked(response)
    # The manager's office PC still signs in; a typo there is a plain 401, not a lock.
    assert attempt(client, "zhangsan", "typo", OFFICE).status_code == 401
    assert attempt(client, "zhangsan", TEST_PASSWORD, OFFICE).status_code == 200
    # That success cleared the count: the attacker has five guesses again, no more.
    for _ in range(5):
        assert attempt(client, "zhangsan", "guess", ATTACKER).status_code == 401
    assert_locked(attempt(client, "zhangsan", TEST_PASSWORD, ATTACKER))


def test_thirty_failures_lock_the_address_whatever_username_it_tries(client, manager, factory):
    other = factory.user(Role.CLINICIAN, institution=factory.institution(), username="wangyisheng")
    for number in range(30):
        assert attempt(client, f"user{number % 6}", "wrong", ATTACKER).status_code == 401
    assert_locked(attempt(client, other.username, TEST_PASSWORD, ATTACKER))
    assert attempt(client, other.username, TEST_PASSWORD, HOME).status_code == 200


def test_the_address_is_the_client_behind_the_proxy(app, manager):
    from weixiu.app import create_app

    behind_nginx = create_app("testing", configure=lambda flask_app: flask_app.config.update(app.config, PROXY_HOPS=1))
    client = behind_nginx.test_client()
    usernames = (f"nobody{number}" for number in range(100))

    def via_proxy(password: str, client_address: str):
        guess = next(usernames)
        return attempt(client, guess, password, "127.0.0.1", headers={"X-Forwarded-For": client_address})

    try:
        for _ in range(30):
            assert via_proxy("wrong", ATTACKER).status_code == 401
        assert_locked(via_proxy("wrong", ATTACKER))
        # Everyone else behind the same proxy is someone else.
        assert via_proxy("wrong", HOME).status_code == 401
    finally:
        with behind_nginx.app_context():
            db.engine.dispose()


def test_with_redis_down_nobody_is_let_in_unguarded(app, client, manager):
    real_redis = app.extensions["weixiu.redis"]
    app.extensions["weixiu.redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        response = attempt(client, "zhangsan", TEST_PASSWORD, HOME)
    finally:
        app.extensions["weixiu.redis"] = real_redis
    assert response.status_code == 503
    assert response.get_json()["error"]["message"] == "服务繁忙，请稍后再试"


def test_guesses_sent_at_once_are_counted_before_any_password_is_checked(app, manager):
    """Twenty wrong passwords in parallel: five are checked, the rest meet the lock, however many
    were still checking theirs when they came."""
    start = threading.Barrier(20)
    answers: list[int] = []

    def guess() -> None:
        client = app.test_client()
        start.wait()
        answers.append(attempt(client, "zhangsan", "guess", ATTACKER).status_code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [401] * 5 + [429] * 15
