"""Pure digest ranking and rendering: tables, plus a property test on hostile input."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.pipeline.digest import (
    MAX_ENTITIES,
    MAX_MESSAGE_UNITS,
    Story,
    format_sources,
    format_time,
    hashtag,
    rank_stories,
    render_alert,
    render_digest,
    render_empty,
    render_text,
    safe_url,
    truncate,
    utf16_len,
)
from tests.fakebotapi import check_message_text

NOW = 1_795_000_000.0   # 2026-11-18 11:06 UTC
HOUR = 3600.0


def story(cid: int, title: str = "T", *, sources: int = 1, age_h: float = 1.0, **kw: object) -> Story:
    return Story(cluster_id=cid, title=title, url=kw.pop("url", f"https://e.example/{cid}"),  # type: ignore[arg-type]
                 sources=[f"S{i}" for i in range(sources)], time=NOW - age_h * HOUR,
                 source_count=sources, **kw)  # type: ignore[arg-type]


# -- tables --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "expected"), [
    ("north-korea", "#north_korea"), ("ukraine", "#ukraine"), ("g7--summit", "#g7_summit"),
    ("2024", "#tag_2024"), ("---", "#tag"), ("élections", "#élections"),
])
def test_hashtag_is_telegram_safe(tag: str, expected: str) -> None:
    assert hashtag(tag) == expected


@pytest.mark.parametrize(("names", "count", "expected"), [
    (["Le Monde", "Reuters", "AFP", "AP", "BBC"], 5, "Le Monde, Reuters +3"),
    (["Le Monde", "Le Monde", "Reuters"], 2, "Le Monde, Reuters"),
    (["Le Monde"], 4, "Le Monde +3"),
    ([], 3, ""),
    (["", "  ", "X"], 1, "X"),
])
def test_sources_line(names: list[str], count: int, expected: str) -> None:
    assert format_sources(names, count) == expected


@pytest.mark.parametrize(("url", "ok"), [
    ("https://news.google.com/rss/articles/CBMiWkFVX3lxTE5?oc=5", True),
    ("http://example.com/a?b=1&c=2", True),
    ("javascript:alert(1)", False), ("ftp://example.com/x", False), ("https://", False),
    ("https://exa mple.com/", False), ("", False), ("https://e.com/" + "x" * 3000, False),
])
def test_only_http_urls_become_links(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


# The ranking rule, pinned on a hand-built morning (now = 11:06): what /help, README and
# config.example.toml say. (cluster id, sources, hours since the story last moved)
MORNING = [
    (1, 62, 5.0),     # the big story of this morning
    (2, 1, 1.0),      # a one-source item of an hour ago: after every bigger fresh story
    (3, 80, 30.0),    # yesterday's biggest story, not moved since: after all of today's
    (4, 3, 2.0),
    (5, 3, 0.3),      # same sources as 4, more recent: first of the two
    (6, 1, 26.0),
]


def test_ranking_rule_pinned() -> None:
    stories = [Story(cid, f"s{cid}", "", source_count=n, time=NOW - age * HOUR) for cid, n, age in MORNING]
    assert [s.cluster_id for s in rank_stories(stories, NOW)] == [1, 5, 4, 2, 3, 6]


def test_ranking_sources_then_recency() -> None:
    stories = [story(1, sources=1, age_h=0.1), story(2, sources=5, age_h=2), story(3, sources=5, age_h=1),
               story(4, sources=2, age_h=40)]
    assert [s.cluster_id for s in rank_stories(stories, NOW)] == [3, 2, 1, 4]
    assert [s.cluster_id for s in rank_stories(stories, NOW + 3 * 365 * 86400)] == [3, 2, 1, 4]
    assert rank_stories([], NOW) == []


def test_truncate_counts_utf16_and_never_splits_a_pair() -> None:
    title = "😀" * 300                                  # 600 UTF-16 units
    cut = truncate(title, 401)
    assert utf16_len(cut) <= 401 and cut.endswith("…") and "\ud83d" not in cut.replace("😀", "")


def test_time_in_chat_timezone_across_dst() -> None:
    # 2026-03-29 01:30 UTC is 03:30 in Paris (after the spring change), 02:30 the day before.
    spring = 1_774_747_800.0
    assert format_time(spring, tz="Europe/Paris", now=spring + 60, language="fr") == "03:30"
    assert format_time(spring - 86400, tz="Europe/Paris", now=spring, language="fr") == "28/03 02:30"
    assert format_time(spring - 86400, tz="America/New_York", now=spring, language="en") == "Mar 27 21:30"


def test_digest_header_entries_more_and_text() -> None:
    chunks = render_digest(
        [story(1, "Kim & <Moon>", sources=3, tags=["north-korea"])], language="en", tz="UTC", now=NOW, more=4,
    )
    [html] = chunks
    assert html.startswith("📰 <b>News digest — Wednesday 18 November 2026</b>\n1 story")
    assert '1. <a href="https://e.example/1">Kim &amp; &lt;Moon&gt;</a>' in html
    assert "S0, S1 +1 · 10:06 · #north_korea" in html
    assert html.endswith("<i>+4 more stories</i>")
    text = render_text(chunks)
    assert "1. Kim & <Moon>\n   https://e.example/1\n" in text and "<i>" not in text
    assert render_empty("fr") == "Rien de nouveau depuis votre dernier résumé."
    [alert] = render_alert(story(2, "Alert"), language="fr", tz="UTC", now=NOW)
    assert alert.startswith("🚨 <b>Alerte</b>\n<a href=")


def test_entity_limit_splits_before_100() -> None:
    stories = [story(i, f"#a #b #c {i}", tags=["x", "y", "z"]) for i in range(40)]
    chunks = render_digest(stories, language="fr", tz="UTC", now=NOW)
    assert len(chunks) > 1
    for chunk in chunks:
        _, entities = check_message_text(chunk, "HTML")
        assert len(entities) <= MAX_ENTITIES


# -- property: any titles, sources, URLs and tags render as valid Telegram HTML ------------------


class _Checker(HTMLParser):
    """Independent check with the standard library's parser: allowed tags, balanced, safe hrefs."""

    allowed = {"a", "b", "i"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.allowed, tag
        if tag == "a":
            assert [k for k, _ in attrs] == ["href"]
            assert str(attrs[0][1]).startswith(("http://", "https://"))
        assert "a" not in self.stack
        self.stack.append(tag)
        self.tags += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


urls = st.one_of(
    st.text(max_size=40),
    st.builds(lambda p, q: f"https://ex.com/{p}?{q}", st.text(max_size=300), st.text(max_size=30)),
    st.sampled_from(["javascript:alert(1)", 'https://e.com/"><script>', "https://e.com/&amp;x"]),
)
hostile = st.text(alphabet=st.characters(codec="utf-16", exclude_categories=()), max_size=600) | (
    st.sampled_from(["<script>alert(1)</script>", "&", "</a>", "&amp;lt;", "<b>", "a\u0000b", "\ud83d",
                     "😀" * 500])
)
stories_st = st.lists(
    st.builds(
        Story,
        cluster_id=st.integers(1, 10**6),
        title=hostile,
        url=urls,
        sources=st.lists(hostile, max_size=5),
        tags=st.lists(st.from_regex(r"[a-z0-9]+(-[a-z0-9]+)*", fullmatch=True), max_size=12),
        time=st.floats(NOW - 5 * 86400, NOW + 3600),
        source_count=st.integers(0, 500),
        size=st.integers(0, 500),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories=stories_st, language=st.sampled_from(["fr", "en", "de"]), more=st.integers(0, 1000),
       tz=st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata", "Pacific/Chatham"]))
def test_any_input_renders_valid_telegram_html(
    stories: list[Story], language: str, more: int, tz: str
) -> None:
    chunks = render_digest(stories, language=language, tz=tz, now=NOW, more=more)
    assert chunks
    numbers: list[int] = []
    for chunk in chunks:
        checker = _Checker()
        checker.feed(chunk)
        checker.close()
        assert not checker.stack
        plain = "".join(checker.text)
        assert utf16_len(plain) <= MAX_MESSAGE_UNITS and checker.tags <= MAX_ENTITIES
        telegram_plain, entities = check_message_text(chunk, "HTML")   # the fake server's parser
        assert telegram_plain == plain and len(entities) <= MAX_ENTITIES
        heads = [block.split(". ", 1)[0] for block in plain.split("\n\n")]   # "N. title\nsources"
        numbers += [int(h) for h in heads if h.isdigit()]
    assert numbers == list(range(1, len(stories) + 1))
