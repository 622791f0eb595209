"""The login lockout, with a fake clock (the real server is in tests/reliability/test_ui.py)."""

import asyncio
import doctest

import pytest

import ui.login
from ui.login import MAX_LOCKOUT_S, LockedOut, LoginGuard

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def guard_with(clock, **kw) -> LoginGuard:
    return LoginGuard({"ann": "s3cret"}, **{"max_failures": 3, "lockout_s": 10, **kw}, clock=clock)


def test_docstring_examples():
    assert doctest.testmod(ui.login).failed == 0


def test_100_wrong_passwords_lock_the_user_out_even_for_the_right_one(clock):
    guard = guard_with(clock)
    outcomes = []
    for i in range(100):
        try:
            outcomes.append(guard.check("ann", f"guess{i}", "10.0.0.1"))
        except LockedOut:
            outcomes.append("locked")
    assert outcomes[:3] == [False] * 3 and set(outcomes[3:]) == {"locked"}
    assert guard.refused == 97  # checked: 3 of 100
    with pytest.raises(LockedOut, match="try again in 10 s"):
        guard.check("ann", "s3cret", "10.0.0.2")  # another address: the user is locked
    clock.now += 10.5
    assert guard.check("ann", "s3cret", "10.0.0.2")  # the window has passed


def test_lockouts_double_up_to_a_ceiling(clock):
    guard = guard_with(clock)
    windows = []
    for _ in range(12):
        for _ in range(3):
            assert guard.check("ann", "wrong", "10.0.0.1") is False
        try:
            guard.check("ann", "s3cret", "10.0.0.1")
        except LockedOut as exc:
            windows.append(exc.retry_after)
        clock.now += MAX_LOCKOUT_S + 1
    assert windows[:4] == [10, 20, 40, 80]
    assert max(windows) == MAX_LOCKOUT_S


def test_another_user_still_logs_in_from_the_same_address(clock):
    accounts = {"ann": "s3cret", "bob": "hunter2"}
    guard = LoginGuard(accounts, max_failures=3, lockout_s=10, clock=clock)
    for i in range(3):
        guard.check("ann", f"guess{i}", "10.0.0.1")
    with pytest.raises(LockedOut):
        guard.check("ann", "s3cret", "10.0.0.1")
    assert guard.check("bob", "hunter2", "10.0.0.1")


def test_one_address_guessing_many_users_is_locked_out(clock):
    guard = guard_with(clock)  # per address: 4 x 3 failures
    for i in range(12):
        assert guard.check(f"user{i}", "pw", "203.0.113.9") is False
    with pytest.raises(LockedOut):
        guard.check("ann", "s3cret", "203.0.113.9")  # even the right login, from there
    assert guard.check("ann", "s3cret", "198.51.100.1")  # from elsewhere: fine


def test_a_success_clears_the_user_but_not_the_address(clock):
    guard = guard_with(clock)
    for _ in range(2):
        guard.check("ann", "wrong", "10.0.0.1")
    assert guard.check("ann", "s3cret", "10.0.0.1")
    for _ in range(2):
        guard.check("ann", "wrong", "10.0.0.1")
    assert guard.check("ann", "s3cret", "10.0.0.1")  # 2 + 2 failures, not 3 in a row
    assert guard.addresses._records["addr:10.0.0.1"].failures == 4


def test_the_counters_are_bounded(clock):
    guard = guard_with(clock, max_keys=50)
    for i in range(1000):
        guard.check(f"user{i}", "pw", f"10.0.{i // 250}.{i % 250}")
    assert len(guard.users) == 50 and len(guard.addresses) == 50


def test_gradio_hook_is_a_coroutine_function_and_a_lockout_is_http_429(clock):
    import inspect

    from fastapi import HTTPException

    guard = guard_with(clock)
    assert inspect.iscoroutinefunction(guard.authenticate)  # else Gradio would not await it
    assert asyncio.run(guard.authenticate("ann", "s3cret")) is True
    assert asyncio.run(guard.authenticate("ann", "nope")) is False
    for _ in range(2):
        asyncio.run(guard.authenticate("ann", "nope"))
    with pytest.raises(HTTPException) as caught:
        asyncio.run(guard.authenticate("ann", "s3cret"))
    assert caught.value.status_code == 429 and caught.value.headers["Retry-After"] == "10"
