"""Plain-text tables and records for the CLI (no I/O beyond the queries they are given)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.config import Config, format_duration
from bot.models import FeedPollOutcome
from bot.pipeline.dedup.report import plural
from bot.pipeline.fetch.addresses import display_url

EXPORT_FIELDS = (
    "id", "feed", "url", "canonical_url", "title", "source", "published", "language", "summary",
    "cluster_id", "duplicate_of", "cluster_size", "cluster_sources", "tags", "tag_matches",
)

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): OWASP's
# advice is to prefix such a cell with a single quote, which the spreadsheet shows as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text starting like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    """An export record as one CSV row: tags space-separated, tag matches as JSON, every text
    cell neutralised with :func:`csv_cell` (JSON lines stay verbatim)."""
    row = dict(record, tags=" ".join(record["tags"]),
               tag_matches=json.dumps(record["tag_matches"], ensure_ascii=False))
    return {k: csv_cell(v) for k, v in row.items()}


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds: float) -> str:
    """A length of time in one unit, rounded: "45s", "12m", "3h", "2d" (never "753s")."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s}s"
    if (minutes := round(s / 60)) < 60:
        return f"{minutes}m"
    if (hours := round(s / 3600)) < 24:
        return f"{hours}h"
    return f"{round(s / 86400)}d"


def ago(ts: float | None, now: float) -> str:
    """"12m ago", "in 15m", "never"."""
    if ts is None:
        return "never"
    delta = now - ts
    if delta < 0:
        return "in " + human_duration(-delta)
    return human_duration(delta) + " ago"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A fixed-width text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def config_summary(config: Config) -> str:
    enabled = [f for f in config.feeds if f.enabled]
    google = [f for f in config.feeds if f.google_news is not None]
    token = (f"file {config.telegram.token_file}" if config.telegram.token_file
             else f"${config.telegram.token_env}")
    listen = config.metrics.listen
    metrics = f"http://{listen}/metrics and /healthz" if listen else "off ([metrics] listen)"
    lines = [
        f"{config.path}: OK",
        f"  feeds: {len(config.feeds)} ({len(enabled)} enabled, {len(google)} Google News)",
        f"  default interval {format_duration(config.polling.interval)}, "
        f"concurrency {config.polling.concurrency} ({config.polling.per_host_concurrency} per host)",
        f"  database: {config.storage.path} (retention {config.storage.retention_days} days)",
        f"  tags: {len(config.tags)} ({sum(len(t.keywords) for t in config.tags)} keywords, "
        f"{sum(t.priority for t in config.tags)} priority)",
        f"  digest: times {', '.join(config.digest.times)} {config.digest.timezone}, "
        f"max {config.digest.max_stories} stories",
        f"  telegram: token from {token}, {len(config.telegram.channels)} channels",
        f"  metrics: {metrics}",
    ]
    return "\n".join(lines)


def poll_table(outcomes: Sequence[FeedPollOutcome]) -> str:
    rows = []
    for o in sorted(outcomes, key=lambda o: (o.feed.casefold(), o.feed)):
        status = {"ok": "ok", "not-modified": "304", "error": "ERROR", "skipped": "skipped"}[o.status]
        note = o.error or (f"malformed but used: {o.bozo}" if o.bozo else "")
        rows.append((o.feed, status, o.http_status or "", o.new, o.updated,
                     "all" if o.status == "not-modified" else o.unchanged, f"{o.elapsed:.2f}s", note[:80]))
    totals = (
        f"{plural(len(outcomes), 'feed')}: {sum(o.status == 'ok' for o in outcomes)} ok, "
        f"{sum(o.status == 'not-modified' for o in outcomes)} not modified, "
        f"{plural(sum(o.status == 'error' for o in outcomes), 'error')}; "
        f"{sum(o.new for o in outcomes)} new, {sum(o.updated for o in outcomes)} updated articles"
    )
    headers = ("feed", "result", "http", "new", "updated", "unchanged", "time", "note")
    return table(headers, rows) + "\n" + totals


def feeds_table(states: Sequence[dict[str, Any]], now: float, storage: str = "") -> str:
    """Per-feed state; ``storage`` (a "disk full: …" line) marks every enabled feed and heads the
    table: the feeds table cannot record it, its writes are what fails."""
    rows = []
    for s in states:
        if not s["enabled"]:
            state = "disabled"
        elif storage:
            state = storage.split(":", 1)[0]
        elif s["dead"]:
            state = "DEAD"
        elif s["error_count"]:
            state = f"failing×{s['error_count']}"
        else:
            state = "ok"
        note = s["last_error"] or ""
        if s["permanent_url"]:
            note = f"moved permanently to {display_url(s['permanent_url'])}; " + note
        rows.append((s["name"], state, s["last_status"] or "", ago(s["last_success_at"], now),
                     ago(s["next_due_at"], now) if s["enabled"] else "", note[:90]))
    text = table(("feed", "state", "http", "last success", "next due", "last error / note"), rows)
    return f"{storage}\n{text}" if storage else text


def export_records(db: Database, since: float | None) -> Iterator[dict[str, Any]]:
    """One record per stored article, with its cluster and tags."""
    sql = """
        SELECT a.id, f.name AS feed, a.link AS url, a.canonical_url, a.title, a.source,
               a.published_at, a.language, a.summary, a.cluster_id, a.duplicate_of,
               c.size AS cluster_size, c.source_count AS cluster_sources,
               (SELECT json_group_object(tag, matched) FROM
                   (SELECT tag, matched FROM article_tags t WHERE t.article_id = a.id ORDER BY tag))
                   AS tag_matches
        FROM articles a JOIN feeds f ON f.id = a.feed_id
        LEFT JOIN clusters c ON c.id = a.cluster_id
        WHERE a.fetched_at >= ?
        ORDER BY a.published_at, a.id
    """
    cursor = db.execute(sql, (since or 0,))
    cols = [d[0] for d in cursor.description]
    for row in cursor:
        record = dict(zip(cols, row, strict=True))
        record["published"] = iso(record.pop("published_at"))
        record["tag_matches"] = json.loads(record["tag_matches"] or "{}")
        record["tags"] = sorted(record["tag_matches"])
        yield {k: record[k] for k in EXPORT_FIELDS}
