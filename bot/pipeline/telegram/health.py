"""Is the Bot API reachable? One log line when that changes, a summary while it stays down.

Every Bot API request goes through :class:`ObservedRequest` (python-telegram-bot's own httpx
request, watched). A network failure (refused, reset, timed out) or a 5xx answer marks Telegram
unreachable; any other answer marks it reachable. :class:`TelegramHealth` logs the change once
("Telegram Bot API unreachable …" / "… reachable again after 2m"), then every
``SUMMARY_EVERY`` seconds while it stays down, instead of python-telegram-bot's traceback for
every failed ``getUpdates`` (one a second at first). python-telegram-bot keeps retrying with its
own backoff (1 s growing to 30 s); ``newsbot run`` keeps polling feeds meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

SUMMARY_EVERY = 300.0          # seconds between "still unreachable" lines


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class TelegramHealth:
    """Reachability of the Bot API, from the outcome of each request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, summary_every: float = SUMMARY_EVERY):
        self.clock = clock
        self.summary_every = summary_every
        self.down_since: float | None = None
        self.failures = 0
        self.last_error = ""
        self._next_summary = 0.0

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def failed(self, error: str) -> None:
        now = self.clock()
        self.failures += 1
        self.last_error = error
        if self.down_since is None:
            self.down_since = now
            self._next_summary = now + self.summary_every
            log.warning("Telegram Bot API unreachable (%s): retrying with backoff; feeds are still "
                        "polled and digests wait", error)
        elif now >= self._next_summary:
            self._next_summary = now + self.summary_every
            log.warning("Telegram Bot API still unreachable after %s (%d failed requests; last: %s)",
                        _span(now - self.down_since), self.failures, error)

    def ok(self) -> None:
        if self.down_since is None:
            return
        log.warning("Telegram Bot API reachable again after %s (%d failed requests)",
                    _span(self.clock() - self.down_since), self.failures)
        self.down_since = None
        self.failures = 0


class ObservedRequest(HTTPXRequest):
    """python-telegram-bot's HTTPXRequest reporting each request's outcome to ``health``."""

    def __init__(self, health: TelegramHealth, **kwargs: Any):
        super().__init__(**kwargs)
        self.health = health

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except BadRequest:
            raise                                   # our request is wrong; Telegram is fine
        except NetworkError as exc:                 # TimedOut included
            self.health.failed(str(exc) or type(exc).__name__)
            raise
        if code >= 500:
            self.health.failed(f"HTTP {code}")
        else:
            self.health.ok()
        return code, payload
