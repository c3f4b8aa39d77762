"""Backoff decisions are pure: table-driven, no clock, no I/O."""

from __future__ import annotations

import random

import pytest

from bot.pipeline.schedule.backoff import MAX_TTL, after_failure, next_due_after_success

HOUR = 3600.0
DAY = 86400.0


@pytest.mark.parametrize(
    ("errors_before", "expected_wait"),
    [(0, 600), (1, 1200), (2, 2400), (5, 19200), (8, DAY), (40, DAY)],
)
def test_failures_back_off_exponentially_up_to_the_cap(errors_before: int, expected_wait: float) -> None:
    d = after_failure(1000.0, 600, errors_before, None, max_backoff=DAY, dead_after=3 * DAY)
    assert d.next_due_at - 1000.0 == expected_wait
    assert d.error_count == errors_before + 1


def test_retry_after_is_honoured_when_longer() -> None:
    d = after_failure(0.0, 600, 0, None, max_backoff=DAY, dead_after=3 * DAY, retry_after=HOUR)
    assert d.next_due_at == HOUR
    d = after_failure(0.0, 600, 0, None, max_backoff=DAY, dead_after=3 * DAY, retry_after=5)
    assert d.next_due_at == 600
    d = after_failure(0.0, 600, 0, None, max_backoff=DAY, dead_after=3 * DAY, retry_after=10**9)
    assert d.next_due_at == DAY


def test_feed_is_dead_after_failing_long_enough() -> None:
    first = 1000.0
    d = after_failure(first, 600, 0, None, max_backoff=DAY, dead_after=3 * DAY)
    assert d.first_error_at == first and not d.dead
    d = after_failure(first + 3 * DAY - 1, 600, 9, first, max_backoff=DAY, dead_after=3 * DAY)
    assert not d.dead
    d = after_failure(first + 3 * DAY, 600, 10, first, max_backoff=DAY, dead_after=3 * DAY)
    assert d.dead and d.first_error_at == first


def test_success_uses_interval_ttl_and_jitter() -> None:
    rng = random.Random(1)
    assert next_due_after_success(0, 600, 0) == 600
    assert next_due_after_success(0, 600, 0, ttl_seconds=1800) == 1800
    assert next_due_after_success(0, 600, 0, ttl_seconds=60) == 600   # ttl never shortens
    assert next_due_after_success(0, 600, 0, ttl_seconds=10 * DAY) == MAX_TTL
    due = next_due_after_success(0, 600, 30, rng=rng)
    assert 600 <= due <= 630
