"""Terminal report of subscribers for ``newsbot subscribers`` (formatting only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

COLUMNS = ("chat", "type", "state", "lang", "timezone", "times", "tags", "last digest", "sent", "pending")


def _when(ts: float | None, tz: str) -> str:
    if not ts:
        return "never"
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M")


def _topics(row: dict[str, Any]) -> str:
    """Followed tags ("(all)" = everything) and muted ones: "(all) muted: usa"."""
    text = row["tags"] or "(all)"
    return f"{text} muted: {row['mutes']}" if row.get("mutes") else text


def subscribers_table(rows: list[dict[str, Any]]) -> str:
    """One line per chat: id (or @address), type, state (with the reason), schedule, tags, journal."""
    if not rows:
        return "no subscribers yet (send /start to the bot, or configure [[telegram.channels]])"
    lines: list[tuple[str, ...]] = [COLUMNS]
    for r in rows:
        state = r["state"] + (f" ({r['blocked_reason']})" if r["blocked_reason"] else "")
        lines.append((
            r["address"] or str(r["chat_id"]), r["type"] + (" [config]" if r["from_config"] else ""), state,
            r["language"], r["timezone"], r["times"] or "-", _topics(r),
            _when(r["last_digest_at"], r["timezone"]), str(r["stories_sent"]), str(r["pending_runs"]),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)
