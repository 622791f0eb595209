"""Login for ``rag ui --auth``: a password check that locks out guessing.

After ``max_failures`` wrong passwords for one user name, or ``4 * max_failures`` from one
client address, further attempts for that user (or from that address) are refused, even
with the right password, until a lockout window passes. The window starts at
``lockout_s`` and doubles with each lockout of the same key (up to ``MAX_LOCKOUT_S``); a key
that stays quiet for ``FORGET_S`` starts afresh. Attempts refused during a lockout are not
checked and not counted. The counters live in memory, bounded to ``max_keys`` entries (the
least recently touched are forgotten first).

The check never sleeps, so one guesser never holds up the server for anyone else.

The client address is the TCP peer; when that peer is on this machine (a reverse proxy such
as nginx or Caddy in front of the app), the last address of ``X-Forwarded-For`` is used.

>>> clock = iter(range(1000)).__next__
>>> guard = LoginGuard({"ann": "pw"}, max_failures=2, lockout_s=10, clock=clock)
>>> guard.check("ann", "nope", "10.0.0.1"), guard.check("ann", "nope", "10.0.0.1")
(False, False)
>>> guard.check("ann", "pw", "10.0.0.2")  # locked: even the right password is refused
Traceback (most recent call last):
...
ui.login.LockedOut: too many failed logins; try again in 9 s
"""

from __future__ import annotations

import contextvars
import hmac
import ipaddress
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("ui")

MAX_LOCKOUT_S = 3600.0
FORGET_S = 6 * 3600.0
ADDRESS_FACTOR = 4  # an address may fail for a few users (a shared office) before its lockout
MAX_KEYS = 10_000
_client_address: contextvars.ContextVar[str] = contextvars.ContextVar("rag_login_client")


class LockedOut(Exception):
    """Too many failed logins for this user or address; ``retry_after`` seconds remain."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, round(retry_after))
        super().__init__(f"too many failed logins; try again in {self.retry_after} s")


@dataclass
class _Record:
    failures: int = 0  # since the last lockout
    lockouts: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0


class FailureCounter:
    """Failures per key with growing lockout windows, bounded in memory."""

    def __init__(
        self,
        max_failures: int,
        lockout_s: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures, self.lockout_s = max_failures, lockout_s
        self.max_keys, self.clock = max_keys, clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _get(self, key: str, now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last_seen > FORGET_S and now >= record.locked_until:
            del self._records[key]
            return None
        return record

    def locked_for(self, key: str, now: float) -> float:
        """Seconds of lockout left for this key (0 if it may try)."""
        record = self._get(key, now)
        return max(0.0, record.locked_until - now) if record else 0.0

    def fail(self, key: str, now: float) -> None:
        record = self._get(key, now) or _Record()
        record.failures += 1
        record.last_seen = now
        if record.failures >= self.max_failures:
            window = min(MAX_LOCKOUT_S, self.lockout_s * 2**record.lockouts)
            record.locked_until = now + window
            record.lockouts += 1
            record.failures = 0
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self.max_keys:
            self._records.popitem(last=False)

    def forget(self, key: str) -> None:
        self._records.pop(key, None)

    def __len__(self) -> int:
        return len(self._records)


class LoginGuard:
    """The ``auth`` callable given to Gradio: checks a user name and password against the
    accounts, refusing (``LockedOut``) while the user or the client address is locked out."""

    def __init__(
        self,
        accounts: dict[str, str],
        *,
        max_failures: int = 5,
        lockout_s: float = 30.0,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._accounts = dict(accounts)
        self.clock = clock
        self.users = FailureCounter(max_failures, lockout_s, max_keys=max_keys, clock=clock)
        self.addresses = FailureCounter(
            max_failures * ADDRESS_FACTOR, lockout_s, max_keys=max_keys, clock=clock
        )
        self._lock = threading.Lock()
        self.refused = 0  # attempts refused unchecked during a lockout (for the benchmark)

    def check(self, user: str, password: str, address: str | None = None) -> bool:
        """True for the right password; False for a wrong one; ``LockedOut`` while locked."""
        address = address or _client_address.get("unknown")
        user_key, address_key = f"user:{user}", f"addr:{address}"
        with self._lock:
            now = self.clock()
            wait = max(
                self.users.locked_for(user_key, now), self.addresses.locked_for(address_key, now)
            )
            if wait > 0:
                self.refused += 1
                raise LockedOut(wait)
            expected = self._accounts.get(user)
            ok = expected is not None and hmac.compare_digest(
                password.encode("utf-8", "surrogatepass"), expected.encode("utf-8")
            )
            if ok:
                self.users.forget(user_key)  # the address keeps its count: no reset by
                return True  # logging in to one's own account between guesses
            self.users.fail(user_key, now)
            self.addresses.fail(address_key, now)
        log.warning("failed login for user %r from %s", user[:64], address)
        return False

    async def authenticate(self, user: str, password: str) -> bool:
        """Gradio's ``auth`` hook (async, so it runs on the event loop without a thread and
        sees the client address set by ``ClientAddressMiddleware``). A lockout becomes an
        HTTP 429 with a Retry-After header."""
        try:
            return self.check(user, password)
        except LockedOut as exc:
            from fastapi import HTTPException

            raise HTTPException(
                status_code=429,
                detail=f"Too many failed logins. Try again in {exc.retry_after} s.",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None


def client_address(scope: dict) -> str:
    """The client's address for an ASGI request: the TCP peer, or, when the peer is this
    machine (a reverse proxy), the last ``X-Forwarded-For`` entry.

    >>> client_address({"client": ("203.0.113.9", 5000), "headers": []})
    '203.0.113.9'
    >>> fwd = [(b"x-forwarded-for", b"198.51.100.7, 192.0.2.1")]
    >>> client_address({"client": ("127.0.0.1", 5000), "headers": fwd})
    '192.0.2.1'
    >>> client_address({"client": ("203.0.113.9", 5000), "headers": fwd})  # not trusted
    '203.0.113.9'
    """
    peer = (scope.get("client") or ("unknown", 0))[0]
    try:
        from_proxy = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        from_proxy = False
    if from_proxy:
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-for":
                last = value.decode("latin-1").split(",")[-1].strip()
                if last:
                    return last[:64]
    return str(peer)


class ClientAddressMiddleware:
    """ASGI middleware that makes the client address known to ``LoginGuard`` on login."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("path", "").rstrip("/").endswith("/login"):
            token = _client_address.set(client_address(scope))
            try:
                await self.app(scope, receive, send)
            finally:
                _client_address.reset(token)
        else:
            await self.app(scope, receive, send)
