"""The process's counters, in one registry served at ``/metrics`` (with the store's totals).

Counters count from the start of the process, as Prometheus expects; totals that outlive a
restart (feeds by state, articles, clusters, last poll and digest) are read from SQLite at scrape
time by :class:`bot.observe.server.StoreCollector`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, ProcessCollector

from bot.models import FeedPollOutcome

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)        # process_resident_memory_bytes, CPU, open fds (Linux)

POLLS = Counter("newsbot_polls", "Feed polls by outcome (ok, not_modified, error, skipped)",
                ["status"], registry=REGISTRY)
POLL_ERRORS = Counter("newsbot_poll_errors", "Failed feed polls by kind of error", ["kind"],
                      registry=REGISTRY)
DIGESTS_SENT = Counter("newsbot_digests_sent", "Digests delivered to a chat in full", registry=REGISTRY)
MESSAGES_SENT = Counter("newsbot_messages_sent",
                        "Telegram messages sent (digest parts, alerts, command answers)", registry=REGISTRY)
RATE_LIMITED = Counter("newsbot_telegram_rate_limited", "429 Too Many Requests answers from Telegram",
                       registry=REGISTRY)
RETRIES = Counter("newsbot_telegram_retries", "Telegram requests sent again, by reason",
                  ["reason"], registry=REGISTRY)

# Substrings of the fetcher's and parser's one-line errors, first match wins.
_ERROR_KINDS = (
    ("timed out", "timeout"),
    ("cannot resolve", "dns"),
    ("connection refused", "connection"),
    ("cannot connect", "connection"),
    ("broke the connection", "connection"),
    ("connection error", "connection"),
    ("tls error", "tls"),
    ("larger than", "too_large"),
    ("not a feed", "not_a_feed"),
    ("too complex", "not_a_feed"),
    ("decode", "encoding"),
    ("content-encoding", "encoding"),
    ("redirect", "redirect"),
    ("internal error", "internal"),
)


def error_kind(outcome: FeedPollOutcome) -> str:
    """A small fixed set of labels for a failed poll (``http_4xx``, ``timeout``, ``not_a_feed``...)."""
    status = outcome.http_status
    if status == 429:
        return "http_429"
    if status is not None and status >= 400:
        return f"http_{status // 100}xx"
    text = outcome.error.lower()
    return next((kind for needle, kind in _ERROR_KINDS if needle in text), "other")


def record_poll(outcome: FeedPollOutcome) -> None:
    POLLS.labels(outcome.status.replace("-", "_")).inc()
    if outcome.status == "error":
        POLL_ERRORS.labels(error_kind(outcome)).inc()
