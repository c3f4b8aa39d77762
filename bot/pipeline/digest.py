"""Rank and render digests (pure: no database, no network, no clock; ``now`` is passed in).

A digest is a list of Telegram HTML messages ("chunks"): a header with the date and the number
of stories, one entry per story, and a "+N more" line when the digest was cut (the stories cut
stay reachable through a "More" button, see :mod:`bot.pipeline.telegram.delivery`). Chunks are split
on entry boundaries so each stays within Telegram's limits: 4096 UTF-16 code units of visible
text (after entity parsing) and 100 entities. Every piece of text is escaped; only http(s) URLs
become links.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

MAX_MESSAGE_UNITS = 4096       # Telegram: text length after entity parsing, in UTF-16 code units
MAX_ENTITIES = 100             # Telegram: formatting entities per message (extras dropped)
MAX_TITLE_UNITS = 400          # a longer title is cut with "…"
MAX_SOURCE_CHARS = 60          # one source name
SHOWN_SOURCES = 2              # "Le Monde, Reuters +3"
MAX_HASHTAGS = 10              # per entry
MAX_URL_CHARS = 2048           # longer URLs are not linked
FRESH_HOURS = 24.0             # a story that has not moved for longer ranks after the fresh ones
GOOGLE_NEWS_HOST = "news.google.com"
SEPARATOR = "\n\n"

_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}
_DAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_TEXTS = {
    "fr": {
        "title": "Revue de presse",
        "continued": "suite",
        "stories": ("{n} sujet", "{n} sujets"),
        "more": ("… et {n} autre sujet", "… et {n} autres sujets"),
        "untitled": "(sans titre)",
        "empty": "Rien de nouveau depuis votre dernier résumé.",
        "alert": "Alerte",
    },
    "en": {
        "title": "News digest",
        "continued": "continued",
        "stories": ("{n} story", "{n} stories"),
        "more": ("+{n} more story", "+{n} more stories"),
        "untitled": "(untitled)",
        "empty": "Nothing new since your last digest.",
        "alert": "Alert",
    },
}

# Text Telegram turns into entities by itself (hashtags, mentions, cashtags, commands, URLs,
# e-mails, bare domains). Counted generously: over-counting only splits a little earlier.
_AUTO_ENTITY = re.compile(
    r"[#@$/]\w+|https?://\S+|[\w.+-]+@[\w-]+\.\w+|\b[\w-]+(?:\.[\w-]+)+\b", re.UNICODE
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


@dataclass(frozen=True)
class Story:
    """One story cluster as a digest shows it."""

    cluster_id: int
    title: str
    url: str
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    time: float = 0.0
    source_count: int = 1
    size: int = 1


# -- ranking -------------------------------------------------------------------------------------


# The one ranking rule, in words (the /help text, README and config.example.toml say the same):
# stories are ranked by number of sources, the most recent first among equals; a story that has
# not moved (no new article) for more than FRESH_HOURS comes after every fresher one.
# So a 60-source story of this morning leads a one-source item of an hour ago, and yesterday's
# big story does not keep the top of today's digests.


def rank_key(story: Story, ref: float) -> tuple[bool, int, float, int]:
    """Sort key of the ranking rule above; ``ref`` is the time ages count from."""
    stale = ref - story.time > FRESH_HOURS * 3600
    return (stale, -max(1, story.source_count), -story.time, story.cluster_id)


def rank_stories(stories: list[Story], now: float) -> list[Story]:
    """Best first, by :func:`rank_key`.

    Ages count from the newest story (or ``now`` if earlier), so a batch of old stories (a
    replay, the demo's sample feeds) still ranks by sources instead of all being stale.
    """
    if not stories:
        return []
    ref = min(now, max(s.time for s in stories))
    return sorted(stories, key=lambda s: rank_key(s, ref))


def is_redirect_link(url: str) -> bool:
    """A Google News article link: a redirect to the publisher's page, not the page itself."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host == GOOGLE_NEWS_HOST or host.endswith("." + GOOGLE_NEWS_HOST)


def pick_link(links: list[str]) -> int | None:
    """Index of the link a story shows: the first publisher's own article (no Google News
    redirect) that may become a link, else the first linkable one; None when none is."""
    usable = [i for i, link in enumerate(links) if safe_url(link)]
    direct = [i for i in usable if not is_redirect_link(links[i])]
    return (direct or usable or [None])[0]


# -- text helpers --------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean_text(text: str) -> str:
    """One line of printable text: control characters and lone surrogates removed."""
    text = _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return re.sub(r" {2,}", " ", text).strip()


def truncate(text: str, units: int) -> str:
    """Cut ``text`` to at most ``units`` UTF-16 code units, ending with "…" when cut."""
    if utf16_len(text) <= units:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        n = utf16_len(ch)
        if used + n > units - 1:
            break
        out.append(ch)
        used += n
    return "".join(out).rstrip() + "…"


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def safe_url(url: str) -> str | None:
    """The URL if it may become a link (http/https, a host, no spaces, not absurdly long)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_CHARS or _CONTROL.search(url) or re.search(r"\s", url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def hashtag(tag: str) -> str:
    """A tag id as a Telegram hashtag: north-korea → #north_korea."""
    body = re.sub(r"_+", "_", re.sub(r"[^\w]", "_", tag, flags=re.UNICODE)).strip("_")
    if not body or body.isdigit():
        body = f"tag_{body}" if body else "tag"
    return "#" + body


def _plural(language: str, key: str, n: int) -> str:
    one, many = _TEXTS[_lang(language)][key]
    return (one if n == 1 else many).format(n=n)


def _lang(language: str) -> str:
    return language if language in _TEXTS else "en"


def format_time(ts: float, *, tz: str, now: float, language: str) -> str:
    """"08:15" today (in the chat's time zone), "25/11 08:15" or "Nov 25 08:15" otherwise."""
    zone = ZoneInfo(tz)
    when = datetime.fromtimestamp(ts, zone)
    today = datetime.fromtimestamp(now, zone).date()
    clock = when.strftime("%H:%M")
    if when.date() == today:
        return clock
    if _lang(language) == "fr":
        return f"{when.day:02d}/{when.month:02d} {clock}"
    return f"{_MONTHS['en'][when.month - 1][:3]} {when.day} {clock}"


def format_date(now: float, *, tz: str, language: str) -> str:
    lang = _lang(language)
    when = datetime.fromtimestamp(now, ZoneInfo(tz))
    day, month = _DAYS[lang][when.weekday()], _MONTHS[lang][when.month - 1]
    return f"{day} {when.day} {month} {when.year}"


def format_sources(sources: list[str], source_count: int) -> str:
    """"Le Monde, Reuters +3": the first names, then how many other sources."""
    names: list[str] = []
    for name in sources:
        name = truncate(clean_text(name), MAX_SOURCE_CHARS)
        if name and name not in names:
            names.append(name)
    if not names:
        return ""
    shown = names[:SHOWN_SOURCES]
    rest = max(source_count, len(names)) - len(shown)
    text = ", ".join(shown)
    return f"{text} +{rest}" if rest > 0 else text


# -- blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A piece of a message that is never split: HTML, visible length and entity count."""

    html: str
    units: int
    entities: int


def make_block(markup: str) -> Block:
    text, tags = visible_text(markup)
    return Block(markup, utf16_len(text), tags + len(_AUTO_ENTITY.findall(text)))


def render_entry(story: Story, number: int, *, language: str, tz: str, now: float) -> str:
    title = truncate(clean_text(story.title), MAX_TITLE_UNITS) or _TEXTS[_lang(language)]["untitled"]
    url = safe_url(story.url)
    head = f'<a href="{html.escape(url, quote=True)}">{esc(title)}</a>' if url else esc(title)
    details = [format_sources(story.sources, story.source_count)]
    if story.time > 0:
        details.append(format_time(story.time, tz=tz, now=now, language=language))
    tags = list(dict.fromkeys(hashtag(t) for t in story.tags))[:MAX_HASHTAGS]
    if tags:
        details.append(" ".join(tags))
    line = " · ".join(esc(d) for d in details if d)
    return f"{number}. {head}\n{line}" if line else f"{number}. {head}"


def render_header(count: int, *, language: str, tz: str, now: float, continued: bool = False) -> str:
    lang = _lang(language)
    title = f"{_TEXTS[lang]['title']} — {format_date(now, tz=tz, language=lang)}"
    if continued:
        title = f"{title} ({_TEXTS[lang]['continued']})"
    return f"📰 <b>{esc(title)}</b>\n{esc(_plural(lang, 'stories', count))}"


def render_more(more: int, *, language: str) -> str:
    return f"<i>{esc(_plural(language, 'more', more))}</i>"


def render_empty(language: str) -> str:
    """The "nothing new" message (one chunk)."""
    return esc(_TEXTS[_lang(language)]["empty"])


def pack(blocks: list[Block]) -> list[str]:
    """Greedy packing of blocks into messages within the length and entity limits."""
    chunks: list[str] = []
    current: list[Block] = []
    units = entities = 0
    sep = utf16_len(SEPARATOR)
    for block in blocks:
        extra = block.units + (sep if current else 0)
        if current and (units + extra > MAX_MESSAGE_UNITS or entities + block.entities > MAX_ENTITIES):
            chunks.append(SEPARATOR.join(b.html for b in current))
            current, units, entities = [], 0, 0
            extra = block.units
        current.append(block)
        units += extra
        entities += block.entities
    if current:
        chunks.append(SEPARATOR.join(b.html for b in current))
    return chunks


def render_digest(
    stories: list[Story],
    *,
    language: str,
    tz: str,
    now: float,
    more: int = 0,
    header: bool = True,
    first_number: int = 1,
) -> list[str]:
    """Telegram HTML messages for ``stories`` (already ranked and cut), in order.

    ``first_number`` > 1 renders a continuation ("More"): numbering goes on, the header says so.
    """
    blocks: list[Block] = []
    if header:
        blocks.append(make_block(render_header(len(stories), language=language, tz=tz, now=now,
                                               continued=first_number > 1)))
    for number, story in enumerate(stories, start=first_number):
        blocks.append(make_block(render_entry(story, number, language=language, tz=tz, now=now)))
    if more > 0:
        blocks.append(make_block(render_more(more, language=language)))
    return pack(blocks)


def render_alert(story: Story, *, language: str, tz: str, now: float) -> list[str]:
    """A priority alert: one story, sent at once."""
    lang = _lang(language)
    entry = render_entry(story, 1, language=lang, tz=tz, now=now).split(" ", 1)[1]
    return pack([make_block(f"🚨 <b>{esc(_TEXTS[lang]['alert'])}</b>\n{entry}")])


# -- HTML → text ---------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Visible text of our Telegram HTML; with ``links`` the URLs are written after link texts."""

    def __init__(self, links: bool = False):
        super().__init__(convert_charrefs=True)
        self.links = links
        self.parts: list[str] = []
        self.tags = 0
        self._href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            if self.links and href:
                self.parts.append(f"\n   {href}")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(markup: str) -> tuple[str, int]:
    """(text Telegram would show, number of formatting tags) for our HTML."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts), parser.tags


def render_text(chunks: list[str]) -> str:
    """Plain text for a terminal (dry-run, demo): tags removed, links written out."""
    out: list[str] = []
    for chunk in chunks:
        parser = _TextExtractor(links=True)
        parser.feed(chunk)
        parser.close()
        out.append("".join(parser.parts))
    return ("\n\n" + "-" * 40 + "\n\n").join(out) + "\n"
