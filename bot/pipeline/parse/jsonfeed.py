"""Read a JSON Feed (1.0 / 1.1, https://www.jsonfeed.org/version/1.1/) into feedparser's shape.

feedparser does not read JSON Feed. Rather than a second way of building articles, this module
turns the JSON document into the plain mappings feedparser produces (``version``, ``feed``,
``entries`` with ``id``, ``link``, ``title``, ``summary``, ``content``, ``published_parsed``…),
and :func:`bot.pipeline.parse.feed.parse_feed` builds the articles from them exactly as for RSS and Atom: the
same caps (entries, link length, field lengths), cleaning, dates and guids. Pure: no I/O.

A body is taken for a JSON Feed when it is a JSON object whose ``version`` is a jsonfeed.org
URL, whatever its Content-Type (``application/feed+json``, ``application/json``, none…). Every field is
type-checked: a value of the wrong type is ignored (an item that is not an object is skipped and
counted in the bozo note), never a crash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_VERSIONS = {"1": "json1", "1.1": "json11"}


class NotJsonFeed(ValueError):
    """The body starts like JSON but is not a JSON Feed; the message says why ("not a feed: …")."""


def looks_like_json(body: bytes) -> bool:
    """Whether to read the body as JSON: it starts with ``{`` (the body decides, not the
    Content-Type, as for XML feeds: an RSS feed sent as application/json is still RSS)."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, media_type: str) -> dict[str, Any]:
    """The feedparser-shaped result for a JSON Feed; NotJsonFeed when it is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"))
    except RecursionError:
        raise NotJsonFeed("JSON nested too deeply") from None
    except ValueError as exc:       # JSONDecodeError, and ints longer than Python's digit limit
        raise NotJsonFeed(f"invalid JSON ({str(exc)[:200]})") from None
    version = _json_feed_version(data)
    if not version:
        raise NotJsonFeed(f"got {media_type or 'JSON'} with no jsonfeed.org version")
    items = data.get("items")
    items = items if isinstance(items, list) else []
    entries = [_entry(item) for item in items if isinstance(item, dict)]
    skipped = len(items) - len(entries)
    note = f"{skipped} items are not JSON objects" if skipped else ""
    if not isinstance(data.get("items"), list):
        note = "no items list"
    return {
        "version": version,
        "feed": {
            "title": _str(data.get("title")),
            "link": _str(data.get("home_page_url")),
            "language": _str(data.get("language")),
        },
        "entries": entries,
        "bozo": bool(note),
        "bozo_exception": note or None,
    }


def _json_feed_version(data: object) -> str:
    """"json1" / "json11" for a jsonfeed.org version URL, "json" for a later one, else ""."""
    if not isinstance(data, dict):
        return ""
    version = data.get("version")
    if not isinstance(version, str):
        return ""
    for prefix in VERSION_PREFIXES:
        if version.startswith(prefix):
            number = version[len(prefix):].strip("/")
            return _VERSIONS.get(number, "json")
    return ""


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    """One JSON Feed item as a feedparser entry."""
    ident = item.get("id")
    # JSON Feed 1.0 feeds in the wild use numbers as ids; 1.1 says strings. Booleans are junk.
    guid = ident if isinstance(ident, str) else (
        str(ident) if isinstance(ident, int | float) and not isinstance(ident, bool) else "")
    link = _str(item.get("url")) or _str(item.get("external_url"))
    content = [{"value": v} for v in (_str(item.get("content_html")), _str(item.get("content_text"))) if v]
    entry: dict[str, Any] = {
        "id": guid,
        "link": link,
        "title": _str(item.get("title")),
        "summary": _str(item.get("summary")),
        "content": content,
        "author": _author(item),
        "language": _str(item.get("language")),
    }
    for key, field in (("published", "date_published"), ("updated", "date_modified")):
        text = _str(item.get(field))
        if text:
            entry[key] = text
            entry[key + "_parsed"] = _rfc3339(text)
    return entry


def _author(item: Mapping[str, Any]) -> str:
    """The first author's name: 1.1 ``authors`` list, else 1.0 ``author`` object."""
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _str(author.get("name"))):
            return name
    return ""


def _rfc3339(text: str) -> time.struct_time | None:
    """A UTC struct_time (like feedparser's ``*_parsed``) from an RFC 3339 date, or None."""
    if len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).timetuple()
    except (OverflowError, ValueError):
        return None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
