"""Throttling of failed logins (API token and back-office form), against password guessing.

Failures are counted in a sliding window per e-mail address and per client address: past
``login_max_failures`` failures for one e-mail (or ``login_max_failures_per_client`` from one
client), further attempts are refused with 429 and ``Retry-After`` until the oldest failure
leaves the window, even with the right password. A success clears the e-mail's failures.

The counters live in the API process (several API instances each count their own): enough to
make guessing impractical, and no database write on the hot path of a login.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from certification.errors import DomainError
from certification.settings import get_settings


PRUNE_ABOVE = 10_000  # counters kept before the ones with no failure left in the window are dropped


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"


class LoginThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def _keys(email: str, client: str) -> list[tuple[tuple[str, str], int]]:
        s = get_settings()
        return [
            (("email", email.strip().lower()), s.login_max_failures),
            (("client", client), s.login_max_failures_per_client),
        ]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        window = get_settings().login_window_minutes * 60
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - window:
            failures.popleft()
        return failures

    def check(self, email: str, client: str) -> None:
        """Raise :class:`TooManyAttempts` when this e-mail or this client is blocked."""
        now = time.monotonic()
        window = get_settings().login_window_minutes * 60
        with self._lock:
            for key, limit in self._keys(email, client):
                failures = self._recent(key, now)
                if len(failures) >= limit:
                    wait = max(1, math.ceil(failures[-limit] + window - now))
                    raise TooManyAttempts(
                        f"Trop de tentatives de connexion échouées. Réessayez dans {math.ceil(wait / 60)} min.",
                        details={"retry_after_seconds": wait},
                    )

    def failed(self, email: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= PRUNE_ABOVE:  # addresses tried once and never again: forget them
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]
            for key, _limit in self._keys(email, client):
                self._failures[key] = self._recent(key, now)
                self._failures[key].append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(("email", email.strip().lower()), None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


throttle = LoginThrottle()
