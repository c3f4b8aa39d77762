"""When to poll a feed next: pure decisions, ``now`` passed in, no I/O.

A healthy feed is polled every ``interval`` (stretched to the feed's ``<ttl>`` when the feed
asks for less frequent polls, within sane bounds). A failing feed backs off exponentially from
its interval up to ``max_backoff``; a server's ``Retry-After`` is honoured when longer. A feed
failing for longer than ``dead_after`` is dead: it is still retried at ``max_backoff``, and it
comes back by itself on the first success.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_TTL = 6 * 3600.0        # a <ttl> never stretches polling beyond this
MAX_RETRY_AFTER = 86400.0   # nor does a Retry-After header


@dataclass(frozen=True)
class FailureDecision:
    next_due_at: float
    error_count: int
    first_error_at: float
    dead: bool


def jittered(seconds: float, jitter: float, rng: random.Random | None = None) -> float:
    if jitter <= 0:
        return seconds
    return seconds + (rng or random).uniform(0, jitter)


def next_due_after_success(
    now: float, interval: float, jitter: float, ttl_seconds: float | None = None,
    rng: random.Random | None = None,
) -> float:
    wait = interval
    if ttl_seconds:
        wait = max(interval, min(ttl_seconds, MAX_TTL))
    return now + jittered(wait, jitter, rng)


def after_failure(
    now: float,
    interval: float,
    error_count: int,
    first_error_at: float | None,
    max_backoff: float,
    dead_after: float,
    retry_after: float | None = None,
) -> FailureDecision:
    """``error_count`` is the number of consecutive failures *before* this one."""
    count = error_count + 1
    wait = min(max_backoff, interval * (2 ** min(count - 1, 30)))
    if retry_after is not None and retry_after > 0:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    first = first_error_at if first_error_at is not None else now
    return FailureDecision(
        next_due_at=now + wait,
        error_count=count,
        first_error_at=first,
        dead=(now - first) >= dead_after,
    )
