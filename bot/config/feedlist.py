"""The operator's feed list: find a feed behind a URL, import an OPML file, report the change.

Shared by ``newsbot feeds add|import`` and the admins' ``/addfeed``: both end in
:func:`bot.config.edit.add_feeds` (validated, atomic config writing).

:func:`find_feed` fetches the URL with the pipeline's own :class:`~bot.pipeline.fetch.fetcher.Fetcher` (same
timeouts, size cap, redirect rules), and parses the body once with :func:`bot.pipeline.parse.feed.parse_feed`
(in a thread: a big feed must not hold an event loop). When the body is not a feed, the page's
advertised feeds (``<link rel="alternate">``, :mod:`bot.config.discover`) are tried in page order.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config.core import check_feed_url, is_tag_slug
from bot.config.discover import feed_links
from bot.config.edit import AddReport, NewFeed
from bot.config.models import Config, PollingConfig
from bot.config.opml import OpmlList
from bot.errors import FeedError, NewsbotError, ParseError
from bot.models import FetchResult, ParsedFeed
from bot.pipeline.fetch.fetcher import Fetcher
from bot.pipeline.parse.feed import parse_feed
from bot.pipeline.parse.normalize import Cleaner

MAX_CANDIDATES = 3          # advertised feeds tried on one page before giving up
VERSION_NAMES = {
    "rss20": "RSS 2.0", "rss10": "RSS 1.0", "rss090": "RSS 0.90", "rss091u": "RSS 0.91",
    "rss091n": "RSS 0.91", "rss092": "RSS 0.92", "rss093": "RSS 0.93", "rss094": "RSS 0.94",
    "atom10": "Atom 1.0", "atom03": "Atom 0.3", "json1": "JSON Feed 1.0", "json11": "JSON Feed 1.1",
    "json": "JSON Feed",
}


@dataclass(frozen=True)
class FoundFeed:
    """A URL checked to be a feed: where it is, what it calls itself, what it holds now."""

    url: str
    title: str
    version: str
    entries: int
    page_url: str = ""          # the web page it was found on, when the URL given was a page

    @property
    def format(self) -> str:
        return VERSION_NAMES.get(self.version, self.version or "feed")


async def find_feed(url: str, polling: PollingConfig, cleaner: Cleaner | None = None) -> FoundFeed:
    """The feed at ``url``, or the first working one its page advertises.

    Raises NewsbotError with one line: the URL is not http(s), an HTTP or network error, "not a
    feed", or "no feed found on the page".
    """
    url = url.strip()
    if (why := check_feed_url(url)) is not None:
        raise NewsbotError(f"the URL {why}")
    cleaner = cleaner or Cleaner()
    async with Fetcher(polling) as fetcher:
        result = await _fetch(fetcher, url)
        try:
            parsed = await _parse(result, cleaner)
        except ParseError as exc:
            page_error = exc
        else:
            return _found(result, parsed)
        links = await asyncio.to_thread(feed_links, _text(result), result.final_url or url)
        if not links:
            if _looks_like_html(result):
                raise NewsbotError(f"no feed found on the page {url} (no <link rel=\"alternate\"> "
                                   "to an RSS, Atom or JSON feed)") from None
            raise NewsbotError(f"{url}: {page_error}") from None
        errors: list[str] = []
        for link in links[:MAX_CANDIDATES]:
            try:
                feed_result = await _fetch(fetcher, link.url)
                parsed = await _parse(feed_result, cleaner)
            except NewsbotError as exc:
                errors.append(f"{link.url}: {exc}")
                continue
            return _found(feed_result, parsed, page_url=result.final_url or url)
        raise NewsbotError(f"the page {url} lists feeds but none could be read ({'; '.join(errors)})")


async def _fetch(fetcher: Fetcher, url: str) -> FetchResult:
    try:
        return await fetcher.fetch(url)
    except FeedError as exc:
        raise NewsbotError(f"{url}: {exc}") from None


async def _parse(result: FetchResult, cleaner: Cleaner) -> ParsedFeed:
    return await asyncio.to_thread(
        parse_feed, result.body, url=result.final_url or result.url, headers=result.headers,
        cleaner=cleaner, now=time.time(),
    )


def _found(result: FetchResult, parsed: ParsedFeed, page_url: str = "") -> FoundFeed:
    # A permanent redirect is where the feed lives now; a temporary one is not.
    return FoundFeed(url=result.permanent_url or result.url, title=parsed.title,
                     version=parsed.version, entries=len(parsed.articles), page_url=page_url)


def _text(result: FetchResult) -> str:
    content_type = {k.lower(): v for k, v in result.headers.items()}.get("content-type", "")
    charset = content_type.lower().partition("charset=")[2].split(";")[0].strip(" \"'") or "utf-8"
    try:
        return result.body.decode(charset, errors="replace")
    except LookupError:
        return result.body.decode("utf-8", errors="replace")


def _looks_like_html(result: FetchResult) -> bool:
    content_type = {k.lower(): v for k, v in result.headers.items()}.get("content-type", "").lower()
    return "html" in content_type or b"<html" in result.body[:2048].lower()


def new_feed(found: FoundFeed, name: str | None = None, tags: tuple[str, ...] = ()) -> NewFeed:
    """The config entry for a found feed: its title names it (else its host) and is its source."""
    title = found.title.strip()
    chosen = (name or "").strip() or title or (urlsplit(found.url).hostname or found.url)
    return NewFeed(name=chosen, url=found.url, tags=tags, source=title)


def parse_tags(value: str | None) -> tuple[str, ...]:
    """``"a,b"`` → ("a", "b"); NewsbotError for a word that is not a tag id."""
    tags = tuple(dict.fromkeys(t.strip() for t in (value or "").split(",") if t.strip()))
    bad = [t for t in tags if not is_tag_slug(t)]
    if bad:
        raise NewsbotError(f"--tags: {', '.join(map(repr, bad))} is not a tag id "
                           "(lower-case words joined by '-')")
    return tags


def opml_new_feeds(opml: OpmlList, config: Config) -> tuple[list[NewFeed], list[str]]:
    """The OPML's feeds as config entries; a category becomes a feed tag when it names a
    configured tag id (case and spaces aside: "North Korea" → north-korea). Also returns the
    category names that matched no tag."""
    known = {t.id for t in config.tags}
    feeds: list[NewFeed] = []
    unmatched: list[str] = []
    for item in opml.feeds:
        tags: list[str] = []
        for category in item.categories:
            slug = "-".join(category.lower().split())
            if slug in known:
                if slug not in tags:
                    tags.append(slug)
            elif category not in unmatched:
                unmatched.append(category)
        name = item.title or urlsplit(item.url).hostname or item.url
        feeds.append(NewFeed(name=name, url=item.url, tags=tuple(tags)))
    return feeds, unmatched


def report_lines(report: AddReport, opml: OpmlList | None = None, unmatched: list[str] | None = None,
                 *, written: bool = True) -> list[str]:
    """What an import or an addition did, one line per feed, then a summary."""
    lines = [f"{'added' if written else 'would add'}: {f.name} <{f.url}>"
             + (f" tags: {', '.join(f.tags)}" if f.tags else "") for f in report.added]
    lines += [f"skipped: {f.name} <{f.url}>: {why}" for f, why in report.skipped]
    if opml is not None:
        lines += [f"skipped: {what}: {why}" for what, why in opml.skipped]
    if unmatched:
        lines.append(f"categories that are not tag ids (not used): {', '.join(unmatched)}")
    skipped = len(report.skipped) + (len(opml.skipped) if opml else 0)
    lines.append(f"{len(report.added)} {'added' if written else 'to add'}, {skipped} skipped")
    return lines
