"""OPML subscription lists in and out (pure: bytes in, text out, no I/O).

Reading goes through listparser (by feedparser's maintainer). It is given bytes, never a str:
a str starting with "http" would make it download that URL. listparser parses with the
standard library's HTML parser, which never reads a DTD, so entity expansion ("billion laughs")
and external entities cannot happen; what is checked here is the size, the encoding, the
number of feeds and each URL.

Writing produces OPML 2.0 as miniflux, FreshRSS, Feedly and NetNewsWire import it: one
``<outline type="rss" text title xmlUrl>`` per feed, inside an outline named after the feed's
first tag (readers turn it into a folder), every tag also in the ``category`` attribute.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

import listparser

from bot.config.models import FeedConfig
from bot.errors import NewsbotError
from bot.pipeline.parse.normalize import is_http_url, normalize_spaces

MAX_OPML_BYTES = 10 * 1024 * 1024
MAX_OPML_FEEDS = 5_000
MAX_NAME_CHARS = 200
_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(NewsbotError):
    """The file cannot be read as an OPML subscription list."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: its title, URL and the names of the categories it sits in."""

    title: str
    url: str
    categories: tuple[str, ...] = ()


@dataclass
class OpmlList:
    feeds: list[OpmlFeed] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (title or URL, why)


def read_opml(data: bytes) -> OpmlList:
    """The feeds of an OPML document; OpmlError when it is not one."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"OPML file larger than {MAX_OPML_BYTES >> 20} MB")
    text = _decode(data)
    try:
        parsed = listparser.parse(text.encode("utf-8"))
    except Exception as exc:  # listparser should not raise; a bad file must still be one line
        raise OpmlError(f"cannot read the OPML file ({type(exc).__name__}: {exc})") from exc
    if not str(parsed.get("version", "")).startswith("opml"):
        raise OpmlError("not an OPML file (no <opml> element)")
    outlines = parsed.get("feeds") or []
    if len(outlines) > MAX_OPML_FEEDS:
        raise OpmlError(f"the file lists {len(outlines):,} feeds; at most {MAX_OPML_FEEDS:,} at once")
    result = OpmlList()
    for outline in outlines:
        url = str(outline.get("url") or "").strip()
        title = normalize_spaces(str(outline.get("title") or ""))[:MAX_NAME_CHARS]
        if not is_http_url(url):
            result.skipped.append((title or url[:200] or "(no URL)", "not an http(s) feed URL"))
            continue
        result.feeds.append(OpmlFeed(title=title, url=url, categories=_categories(outline)))
    return result


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding the XML declaration names, else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = _XML_DECL_ENCODING.match(data[:200])
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


def _categories(outline: object) -> tuple[str, ...]:
    """Every folder name above the feed and in its ``category`` attribute, once, in order."""
    names: list[str] = []
    paths = outline.get("categories") if isinstance(outline, dict) else None
    for path in paths or []:
        for name in path if isinstance(path, list) else []:
            name = normalize_spaces(str(name))
            if name and name not in names:
                names.append(name)
    return tuple(names)


def write_opml(feeds: Sequence[FeedConfig], *, title: str = "newsbot feeds", now: float | None = None) -> str:
    """OPML 2.0 for ``feeds``, grouped in one outline per first tag (untagged feeds at the top)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = formatdate(now, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            parent = folders.get(feed.tags[0]) or folders.setdefault(
                feed.tags[0], ET.SubElement(body, "outline", text=feed.tags[0], title=feed.tags[0]))
        name = _xml_text(feed.name)
        outline = ET.SubElement(parent, "outline", type="rss", text=name, title=name,
                                xmlUrl=_xml_text(feed.url))
        if feed.tags:
            outline.set("category", ",".join(feed.tags))
        if feed.language:
            outline.set("language", _xml_text(feed.language))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)
