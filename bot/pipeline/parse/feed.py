"""Parse a fetched feed body into normalised articles (feedparser + bot.pipeline.parse.normalize).

CPU-bound and free of shared state: ``parse_feed`` runs in a worker thread, never touches an
event loop, and gets the clock (``now``) passed in.

Decisions worth knowing:
- feedparser gets the bytes wrapped in a BytesIO (a bare ``bytes``/``str`` may be taken for a file
  path or URL) and the response headers with lower-case names (charset from Content-Type).
- feedparser is *not* given a base URI: relative entry links stay relative and are resolved here,
  first against the feed's own alternate link (the site's home page, e.g. TPM's Atom feed), then
  against the document URL (Content-Location, else the fetched URL). ``xml:base`` still applies.
  HTML sanitising and relative-URI rewriting inside content are off (twice as fast): summaries
  are converted to plain text anyway, and ``summary_raw`` is stored, never rendered as HTML.
- The Google News rules (publisher from ``<source>``, " - Publisher" title suffix, related
  coverage ``<ol>``) apply only to Google News feeds: France 24 uses ``<source>`` for photo credits.
"""

from __future__ import annotations

import bisect
import calendar
import email.utils
import hashlib
import io
import itertools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.mixin
from selectolax.lexbor import LexborHTMLParser

from bot.errors import ParseError
from bot.models import Article, ParsedFeed, RelatedLink
from bot.pipeline.parse.jsonfeed import NotJsonFeed, looks_like_json, parse_json_feed
from bot.pipeline.parse.normalize import (
    Cleaner,
    canonical_url,
    clean_publisher,
    is_http_url,
    normalize_spaces,
    split_publisher_suffix,
)
from bot.pipeline.parse.publisher import publisher_name

GOOGLE_NEWS_HOST = "news.google.com"
FUTURE_TOLERANCE = 86400.0          # a date more than this ahead of ``now`` is clamped to ``now``
MAX_GUID_CHARS = 1_000
MAX_AUTHOR_CHARS = 300
MAX_SOURCE_CHARS = 200
MAX_RAW_SUMMARY_CHARS = 200_000
MAX_RELATED = 50
MAX_LINK_CHARS = 4_096              # longer "links" are junk (the digest links at most 2,048)
MAX_TTL_MINUTES = 7 * 24 * 60
# A feed is a window on recent news: real ones carry tens to a few hundred entries. Past this many,
# only the newest are kept (storing and deduplicating 20,000 entries would hold the database
# thread for about a minute); the cut is recorded as the feed's bozo note.
MAX_ENTRIES = 1_000
# Internal DTD entities longer than this are dropped before parsing. feedparser keeps "safe"
# entity declarations (no "&" in the value) and its loose parser expands them, so one 100 KB
# entity referenced 5,000 times costs 1.5 GB and 20 s ("quadratic blowup"). Legitimate feeds
# declare short ones (<!ENTITY nbsp "&#160;">); a dropped entity stays as literal "&name;" text.
MAX_ENTITY_VALUE_CHARS = 16
# feedparser holds about 300 bytes per tag: a 5 MB document of nothing but unclosed tags (1.6 M of
# them) took 530 MB and 19 s. Markup outside CDATA sections is counted before parsing; a document
# with more tags than this is refused (a real 5 MB feed has 100,000-200,000; 20,000 entries of
# five elements, 200,000). A document over the limit with more than MAX_ENTRIES entries is not
# refused: its newest MAX_ENTRIES entries are picked before parsing (their dates read with a
# regex) and only those go to feedparser, the cap any long feed gets; it is refused only when
# what is left is still over the limit (a few enormous entries, "nothing but unclosed tags").
MAX_TAGS = 300_000

# feedparser looks for an e-mail address in every author/creator/publisher/managingEditor/webMaster
# text with a regex that is quadratic in the length of a run of letters: a 20,000-letter author
# costs 1 s, a 1 MB one about 40 minutes of a worker thread (found by tests/test_hostile_feeds.py).
# The text is cut to this length before that search (see _bounded_sync_author_detail).
MAX_AUTHOR_SCAN_CHARS = 500

_LANG_RE = re.compile(r"[a-z]{2,3}")
_FIRST_ELEMENT = re.compile(rb"<\w")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)
_ENTITY_DECL = re.compile(rb"<!ENTITY\s[^>]*>")
_ENTITY_VALUE = re.compile(rb"""(["'])(.*?)\1""", re.S)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
# The date elements feedparser reads for published_parsed / updated_parsed / created_parsed.
_ENTRY_DATES = tuple(
    re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:" + names + rb")(?:\s[^>]*)?>\s*([^<]{4,80}?)\s*<")
    for names in (rb"pubDate|published|date|issued", rb"updated|modified", rb"created")
)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    cleaner: Cleaner,
    fallback_language: str = "",
    now: float,
) -> ParsedFeed:
    """Parse ``body`` fetched from ``url`` (RSS, Atom, RDF or JSON Feed); raise ParseError when
    it is not a feed.

    A malformed document that still yields entries is returned with ``bozo=True`` and the
    parser's message; an HTML page or anything without a feed version is a ParseError.
    """
    lower_headers = {k.lower(): v for k, v in headers.items()}
    lower_headers.pop("content-location", None)        # base URIs are resolved here, see above
    lower_headers.pop("content-encoding", None)        # the body is already decoded
    if not body or not body.strip():
        raise ParseError("not a feed: empty document", url)
    total: int | None = None                  # entries in the document when it was cut
    if looks_like_json(body):
        data = _json_feed(body, lower_headers, url)
    else:
        data, total = _feedparser(body, lower_headers, url, now)
    version = data.get("version") or ""
    if not version:
        raise ParseError(f"not a feed: got {_describe(body, lower_headers)}", url)
    feed = data.get("feed", {})
    doc_url = _document_url(url, headers)
    site_link = _feed_link(feed, doc_url)
    is_gn = _is_google_news(url, site_link)
    feed_xml_lang = _detail_language(feed)
    language = (_language(feed.get("language")) or _language(feed_xml_lang)
                or _language(fallback_language))
    feed_title = cleaner.title(feed.get("title") or "")[:MAX_SOURCE_CHARS]
    context = _FeedContext(
        cleaner=cleaner, doc_url=doc_url, base=site_link or doc_url, is_google_news=is_gn,
        source=publisher_name(feed_title, site_link or doc_url), source_url=site_link, language=language,
        feed_xml_lang=feed_xml_lang, now=now,
    )
    entries, capped_note = _newest_entries(data.get("entries", []), now, total)
    articles: list[Article] = []
    seen: set[str] = set()
    for entry in entries:
        article = _article(entry, context)
        if article is None or article.guid in seen:
            continue
        seen.add(article.guid)
        articles.append(article)
    bozo = bool(data.get("bozo"))
    bozo_message = "; ".join(filter(None, [_bozo_message(data) if bozo else "", capped_note]))
    return ParsedFeed(
        version=version,
        title=feed_title,
        link=site_link,
        language=language,
        bozo=bozo or bool(capped_note),
        bozo_message=bozo_message,
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
        articles=articles,
    )


def _feedparser(body: bytes, lower_headers: dict[str, str], url: str, now: float) -> tuple[Any, int | None]:
    """feedparser's result for an XML document (RSS, Atom, RDF), after the defences below, and
    how many entries the document had when it was cut to its newest (None: not cut)."""
    body, total = _newest_entries_first(body, url, now)
    body = _repair_utf8(_defuse_entities(body), lower_headers)
    try:
        return feedparser.parse(
            io.BytesIO(body), response_headers=lower_headers,
            resolve_relative_uris=False, sanitize_html=False,
        ), total
    except Exception as exc:  # feedparser should not raise, but a parse must never crash a poll
        raise ParseError(f"not a feed: parser failed ({type(exc).__name__}: {exc})", url) from exc


def _json_feed(body: bytes, lower_headers: Mapping[str, str], url: str) -> dict[str, Any]:
    """A JSON Feed in feedparser's shape (bot/pipeline/parse/jsonfeed.py), so articles are built the
    same way."""
    media_type = lower_headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        return parse_json_feed(body, media_type)
    except NotJsonFeed as exc:
        raise ParseError(f"not a feed: {exc}", url) from None


# -- feedparser hardening ----------------------------------------------------------------------


_feedparser_sync_author_detail = feedparser.mixin._FeedParserMixin._sync_author_detail


def _bounded_sync_author_detail(self: Any, key: str = "author") -> None:
    """feedparser's own ``_sync_author_detail`` on an author text cut to MAX_AUTHOR_SCAN_CHARS.

    Wraps a private method of feedparser 6 (pinned): the only way to bound its e-mail regex for
    every syntax (plain text, CDATA, character references, UTF-16 documents). If a feedparser
    upgrade renames it, tests/test_hostile_feeds.py::test_huge_author_fields fails on time.
    """
    context = self._get_context()
    value = context.get(key)
    if isinstance(value, str) and len(value) > MAX_AUTHOR_SCAN_CHARS:
        context[key] = value[:MAX_AUTHOR_SCAN_CHARS]
    _feedparser_sync_author_detail(self, key)


feedparser.mixin._FeedParserMixin._sync_author_detail = _bounded_sync_author_detail  # type: ignore[method-assign]


# -- hostile bytes -----------------------------------------------------------------------------


def _defuse_entities(body: bytes) -> bytes:
    """Drop internal DTD entity declarations whose value is long (see MAX_ENTITY_VALUE_CHARS)."""
    first = _FIRST_ELEMENT.search(body)
    head = body[: first.start()] if first else body
    if b"<!ENTITY" not in head:
        return body

    def keep_short(match: re.Match[bytes]) -> bytes:
        value = _ENTITY_VALUE.search(match.group(0))
        if value is not None and len(value.group(2)) <= MAX_ENTITY_VALUE_CHARS:
            return match.group(0)
        return b""

    return _ENTITY_DECL.sub(keep_short, head) + body[len(head):]


def _tag_count(body: bytes) -> int:
    """How many "<" the XML parser will see as markup (those inside CDATA sections are text)."""
    total = body.count(b"<")
    if total <= MAX_TAGS:
        return total
    return total - sum(m.group(0).count(b"<") - 1 for m in _CDATA.finditer(body))


def _declared_charsets(body: bytes, headers: Mapping[str, str]) -> set[str]:
    found = set()
    match = _CHARSET_PARAM.search(headers.get("content-type", ""))
    if match:
        found.add(match.group(1).lower())
    match = _XML_ENCODING.match(body[:200])
    if match:
        found.add(match.group(1).decode("ascii").lower())
    return found


def _repair_utf8(body: bytes, headers: Mapping[str, str]) -> bytes:
    """A UTF-8 document with a few invalid bytes: replace those bytes with U+FFFD.

    Left alone, feedparser falls back to windows-1252 for the *whole* document, so one stray
    byte turns every "é" of every entry into "Ã©" (and each stored title is then "updated" to
    the garbled one). Repaired only when UTF-8 is what the document declares (or nothing is
    declared) and valid multi-byte sequences outnumber the invalid bytes, so undeclared
    ISO-8859-1 (no valid sequences at all) still goes to feedparser's detection.
    """
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in body[:4]:
        return body                                              # UTF-16/32
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    if not _declared_charsets(body, headers) <= {"utf-8", "utf8"}:
        return body
    text = body.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - body.count("\ufffd".encode())
    valid_multibyte = sum(1 for char in text if char > "\x7f") - text.count("\ufffd")
    if valid_multibyte <= invalid:
        return body
    return text.encode("utf-8")


def _newest_entries(entries: list[Any], now: float, total: int | None = None) -> tuple[list[Any], str]:
    """At most MAX_ENTRIES entries, the newest first; a note when some (of ``total`` in the
    document, default ``len(entries)``) were left out."""
    total = len(entries) if total is None else total
    if len(entries) > MAX_ENTRIES:
        order = sorted(range(len(entries)), key=lambda i: -_published_at(entries[i], now))
        kept = sorted(order[:MAX_ENTRIES])                       # document order among the kept
        entries = [entries[i] for i in kept]
    if total <= MAX_ENTRIES:
        return entries, ""
    return entries, f"{total} entries, only the newest {MAX_ENTRIES} kept"


def _newest_entries_first(body: bytes, url: str, now: float) -> tuple[bytes, int | None]:
    """``body`` unchanged when it has at most MAX_ENTRIES entries (and MAX_TAGS tags); else the
    head, its newest MAX_ENTRIES entries (in document order) and the tail, with the number of
    entries it had. One cap for every long feed, decided before feedparser spends time and
    memory on entries that would be dropped. ParseError when still over MAX_TAGS."""
    over = _tag_count(body) > MAX_TAGS
    if not over and len(_ENTRY_START.findall(body)) <= MAX_ENTRIES:
        return body, None
    too_complex = ParseError(f"document too complex: more than {MAX_TAGS:,} tags", url)
    spans = _entry_spans(body)
    if len(spans) <= MAX_ENTRIES:
        if over:
            raise too_complex
        return body, None
    newest = sorted(range(len(spans)), key=lambda i: -_raw_entry_date(body[slice(*spans[i])], now))
    kept = sorted(newest[:MAX_ENTRIES])
    document = b"".join([body[: spans[0][0]], *(body[slice(*spans[i])] for i in kept), body[spans[-1][1]:]])
    if _tag_count(document) > MAX_TAGS:
        raise too_complex
    return document, len(spans)


def _entry_spans(body: bytes) -> list[tuple[int, int]]:
    """(start, end) of each top-level entry element, markup inside CDATA sections ignored."""
    cdata = [m.span() for m in _CDATA.finditer(body)]
    cdata_starts = [a for a, _ in cdata]

    def outside_cdata(pos: int) -> bool:
        i = bisect.bisect_right(cdata_starts, pos) - 1
        return i < 0 or pos >= cdata[i][1]

    starts = [m.start() for m in _ENTRY_START.finditer(body) if outside_cdata(m.start())]
    ends = [m.end() for m in _ENTRY_END.finditer(body) if outside_cdata(m.start())]
    spans = []
    for start, nxt in itertools.pairwise([*starts, len(body)]):
        k = bisect.bisect_right(ends, start)
        if k < len(ends) and ends[k] <= nxt:                   # its end comes before the next start
            spans.append((start, ends[k]))
    return spans


def _raw_entry_date(entry: bytes, now: float) -> float:
    """The entry's date as feedparser would choose it (published, updated, created), read from
    the raw XML; ``now`` when there is none (as :func:`_published_at`)."""
    for pattern in _ENTRY_DATES:
        match = pattern.search(entry)
        if match is None:
            continue
        stamp = _quick_date(match.group(1).decode("utf-8", "replace"))
        if stamp is not None:
            return now if stamp > now + FUTURE_TOLERANCE else stamp
    return now


def _quick_date(text: str) -> float | None:
    """RFC 822 and ISO 8601 dates the fast way, anything else through feedparser's parsers."""
    try:
        if text[:1].isdigit():
            when = datetime.fromisoformat(text)
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        fields = email.utils.parsedate_tz(text)
        if fields is not None:
            return float(email.utils.mktime_tz(fields))
    except (ValueError, OverflowError):
        pass
    parsed = feedparser.datetimes._parse_date(text)       # feedparser 6 is pinned (see above)
    try:
        return float(calendar.timegm(parsed)) if parsed else None
    except (TypeError, ValueError, OverflowError):
        return None


# -- feed level --------------------------------------------------------------------------------


class _FeedContext:
    """Feed-level facts every entry needs (a plain holder; built once per parse)."""

    __slots__ = ("cleaner", "doc_url", "base", "is_google_news", "source", "source_url",
                 "language", "feed_xml_lang", "now")

    def __init__(self, *, cleaner: Cleaner, doc_url: str, base: str, is_google_news: bool,
                 source: str, source_url: str, language: str, feed_xml_lang: str, now: float) -> None:
        self.cleaner = cleaner
        self.doc_url = doc_url
        self.base = base
        self.is_google_news = is_google_news
        self.source = source
        self.source_url = source_url
        self.language = language
        self.feed_xml_lang = feed_xml_lang
        self.now = now


def _describe(body: bytes, headers: Mapping[str, str]) -> str:
    """What the body looks like, for the "not a feed" message."""
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "text/html"                 # whatever the Content-Type claims
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type:
        return media_type
    if head.startswith((b"{", b"[")):
        return "JSON"
    return "a document with no feed version"


def _document_url(url: str, headers: Mapping[str, str]) -> str:
    """The document's own URL: Content-Location (resolved against ``url``) when sent, else ``url``."""
    location = next((v for k, v in headers.items() if k.lower() == "content-location"), "")
    if location:
        resolved = urljoin(url, location.strip())
        if is_http_url(resolved):
            return resolved
    return url


def _feed_link(feed: Mapping[str, Any], doc_url: str) -> str:
    """The feed's alternate (home page) link, absolute, or ""."""
    link = feed.get("link") or ""
    if not link:
        return ""
    resolved = urljoin(doc_url, link.strip()) if doc_url else link.strip()
    return resolved if is_http_url(resolved) else ""


def _is_google_news(url: str, site_link: str) -> bool:
    return any(_host(u) == GOOGLE_NEWS_HOST for u in (url, site_link) if u)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _language(value: object) -> str:
    """"en-gb" → "en", "fr-FR" → "fr", "" when not a language tag."""
    if not isinstance(value, str):
        return ""
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    return primary if _LANG_RE.fullmatch(primary) else ""


def _detail_language(node: Mapping[str, Any]) -> str:
    """The xml:lang (or Content-Language) feedparser attached to a node's title."""
    detail = node.get("title_detail")
    value = detail.get("language") if isinstance(detail, Mapping) else None
    return value if isinstance(value, str) else ""


def _entry_language(entry: Mapping[str, Any], ctx: _FeedContext) -> str:
    """dc:language of the entry, else its own xml:lang (when it differs from the feed's), else the
    feed's language."""
    own = _language(entry.get("language"))
    if own:
        return own
    xml_lang = _detail_language(entry)
    if xml_lang and xml_lang != ctx.feed_xml_lang:
        return _language(xml_lang) or ctx.language
    return ctx.language


def _ttl_seconds(value: object) -> float | None:
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    if not 0 < minutes <= MAX_TTL_MINUTES:
        return None
    return minutes * 60.0


def _bozo_message(data: Mapping[str, Any]) -> str:
    exc = data.get("bozo_exception")
    if exc is None:
        return "malformed feed"
    text = normalize_spaces(str(exc)) or type(exc).__name__
    return text[:500]


# -- entries -----------------------------------------------------------------------------------


def _article(entry: Mapping[str, Any], ctx: _FeedContext) -> Article | None:
    """One entry → Article; None when it has neither title, link nor summary."""
    link = _entry_link(entry, ctx.base)
    raw_title = _text(entry.get("title"))
    summary_raw = _summary_raw(entry)[:MAX_RAW_SUMMARY_CHARS]
    title = ctx.cleaner.title(raw_title)
    source, source_url = ctx.source, ctx.source_url
    related: list[RelatedLink] = []
    if ctx.is_google_news:
        title, source, source_url = _google_news_fields(entry, title, ctx)
        related = parse_related(summary_raw)
        summary = ""          # Google's description only repeats title + publisher (or `related`)
    else:
        summary = ctx.cleaner.summary(summary_raw)
    if not title:
        title = summary.split("\n", 1)[0][:200]
    if not (title or link or summary):
        return None
    published = _published_at(entry, ctx.now)
    guid = _guid(entry, link, raw_title, published)
    return Article(
        guid=guid,
        link=link,
        canonical_url=canonical_url(link) if link else "",
        title=title,
        source=source,
        published_at=published,
        fetched_at=ctx.now,
        summary=summary,
        summary_raw=summary_raw,
        language=_entry_language(entry, ctx),
        source_url=source_url,
        author=normalize_spaces(_text(entry.get("author")))[:MAX_AUTHOR_CHARS],
        is_google_news=ctx.is_google_news,
        related=related,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _absolute(link: str, base: str) -> str:
    """``link`` made absolute against ``base``; "" unless the result is http(s)."""
    link = link.strip()
    if not link or len(link) > MAX_LINK_CHARS:
        return ""
    try:
        resolved = link if is_http_url(link) else (urljoin(base, link) if base else link)
    except ValueError:
        return ""
    return resolved if is_http_url(resolved) else ""


def _entry_link(entry: Mapping[str, Any], base: str) -> str:
    """FeedBurner's origLink, else the alternate link, else a permalink guid; absolute http(s)."""
    candidates = [_text(entry.get("feedburner_origlink")), _text(entry.get("link"))]
    for item in entry.get("links") or []:
        if isinstance(item, Mapping) and item.get("rel", "alternate") == "alternate":
            candidates.append(_text(item.get("href")))
    if entry.get("guidislink"):
        candidates.append(_text(entry.get("id")))
    for candidate in candidates:
        link = _absolute(candidate, base)
        if link:
            return link
    return ""


def _summary_raw(entry: Mapping[str, Any]) -> str:
    """The entry's description/summary, else its first content block."""
    summary = _text(entry.get("summary"))
    if summary.strip():
        return summary
    for content in entry.get("content") or []:
        value = _text(content.get("value")) if isinstance(content, Mapping) else ""
        if value.strip():
            return value
    return ""


def _published_at(entry: Mapping[str, Any], now: float) -> float:
    """Published, else updated, else created, else ``now``; far-future dates clamped to ``now``."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if not parsed:
            continue
        try:
            stamp = float(calendar.timegm(parsed))
        except (TypeError, ValueError, OverflowError):
            continue
        if stamp <= 0:
            continue
        return now if stamp > now + FUTURE_TOLERANCE else stamp
    return now


def _guid(entry: Mapping[str, Any], link: str, raw_title: str, published: float) -> str:
    guid = normalize_spaces(_text(entry.get("id")))
    if not guid:
        guid = link
    if not guid:
        date = _text(entry.get("published")) or _text(entry.get("updated")) or str(published)
        digest = hashlib.sha1(f"{raw_title}\n{date}".encode("utf-8", "replace")).hexdigest()
        return f"sha1:{digest}"
    if len(guid) > MAX_GUID_CHARS:
        return "sha1:" + hashlib.sha1(guid.encode("utf-8", "replace")).hexdigest()
    return guid


# -- Google News -------------------------------------------------------------------------------


def _google_news_fields(
    entry: Mapping[str, Any], title: str, ctx: _FeedContext
) -> tuple[str, str, str]:
    """(title without " - Publisher", publisher from <source>, publisher home page)."""
    source = entry.get("source")
    raw_name = _text(source.get("title")) if isinstance(source, Mapping) else ""
    href = _text(source.get("href")) if isinstance(source, Mapping) else ""
    if raw_name:
        publisher = clean_publisher(raw_name)
        title = split_publisher_suffix(title, raw_name)
    elif " - " in title:                            # no <source>: the suffix is the publisher
        title, _, publisher = title.rpartition(" - ")
        publisher = clean_publisher(publisher)
    else:
        publisher = ctx.source
    source_url = href.strip() if is_http_url(href) else ""
    return title.strip(), publisher[:MAX_SOURCE_CHARS], source_url


def parse_related(description_html: str) -> list[RelatedLink]:
    """Google News related coverage: ``<ol><li><a href=…>Title</a> <font>Publisher</font></li>…``.

    Returns every listed article (Google's own grouping, the item itself included); an empty list
    when the description has no such list.
    """
    if "<ol" not in description_html.lower():
        return []
    tree = LexborHTMLParser(description_html[:MAX_RAW_SUMMARY_CHARS])
    related: list[RelatedLink] = []
    for li in tree.css("ol > li"):
        anchor = li.css_first("a[href]")
        if anchor is None:
            continue
        url = (anchor.attributes.get("href") or "").strip()
        if not is_http_url(url):
            continue
        font = li.css_first("font")
        title = normalize_spaces(anchor.text(deep=True))
        source = clean_publisher(font.text(deep=True)) if font is not None else ""
        related.append(RelatedLink(title=title, url=url, source=source))
        if len(related) >= MAX_RELATED:
            break
    return related
