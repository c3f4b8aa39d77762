"""The health verdict of ``/healthz``: named checks, each a reason when unhealthy, else None.

Whoever runs a part registers its check: the poller (``FeedScheduler.health_problem``: the
scheduler runs and the last poll is fresh), ``newsbot run`` the Telegram side. A new state that
should fail the health check (a full disk, a lost database lock...) is one more reason returned
by the part's own check, or one more ``Health.add``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.config.models import Config

Check = Callable[[float], str | None]      # now → why it is unhealthy, or None


class Health:
    def __init__(self) -> None:
        self._checks: list[tuple[str, Check]] = []

    def add(self, name: str, check: Check) -> None:
        self._checks.append((name, check))

    def verdict(self, now: float) -> tuple[bool, str]:
        """(healthy, one line): the first failing check's reason, else "ok"."""
        for name, check in self._checks:
            try:
                reason = check(now)
            except Exception as exc:   # a broken check is a failing check, not a crashed server
                reason = f"health check failed: {type(exc).__name__}: {exc}"
            if reason:
                return False, f"{name}: {reason}"
        return True, "ok"


def poll_freshness(config: Config) -> float | None:
    """Seconds within which some poll job must have finished, or None with no enabled feed.

    Every enabled feed's job runs at least every ``interval + jitter`` (a feed in backoff still
    runs its job, which finds it not due): two of the shortest interval, plus a fetch's timeout
    and the jitter, leaves room for one late run.
    """
    intervals = [f.interval for f in config.feeds if f.enabled]
    if not intervals:
        return None
    return 2 * min(intervals) + config.polling.jitter + config.polling.timeout
