"""Every real captured feed (see /work/shared/feeds-real/README.md) parses into the right articles.

Files whose source repository is MIT/Apache/GPL are copied in tests/data/feeds-real/ (see
ATTRIBUTION.md there). The four without a licence are read from ``../shared/feeds-real`` beside
the repository and their cases skip when that folder is absent.

Checked for each file: article count, feed version, real dates inside the capture window (no
fetch-time fallbacks), clean titles (no NBSP/hair/zero-width spaces, no CDATA or entity debris,
no rubric prefixes), absolute http(s) links, canonical URLs without tracking parameters, and the
publisher: for ordinary feeds the name drawn from the feed's title and site (bot/pipeline/parse/publisher.py:
"Al Jazeera", not "Al Jazeera – Breaking News, World News and Video from Al Jazeera"; France 24's
``<source>`` is a photo credit), the ``<source>`` element for Google News.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.models import ParsedFeed
from bot.pipeline.parse.feed import parse_feed
from bot.pipeline.parse.normalize import Cleaner

REPO = Path(__file__).resolve().parent.parent
COPIED = REPO / "tests" / "data" / "feeds-real"
SHARED = REPO / ".." / "shared" / "feeds-real"
NOW = float(calendar.timegm((2027, 1, 1, 0, 0, 0)))

BAD_CHARS = re.compile("[\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff\x00-\x1f\x7f-\x9f]")
RUBRIC = re.compile(r"^(EN IMAGES|VIDÉO|INFO FRANCEINFO|VRAI OU FAUX|TEMOIGNAGE|ENQUÊTE FRANCEINFO|"
                    r"REPORTAGE|EN DIRECT|UPDATE|LIVE)\b")
TRACKING = re.compile(r"[?&](utm_\w+|xtor|maca|at_medium|at_campaign|fbclid|gclid)=", re.IGNORECASE)


def day(text: str) -> float:
    return float(calendar.timegm(tuple(int(x) for x in text.split("-")) + (0, 0, 0)))


@dataclass(frozen=True)
class Case:
    file: str
    licensed: bool                  # copied into tests/data (else read from ../shared)
    version: str
    count: int
    first_day: str                  # every date falls in [first_day, last_day + 1 day)
    last_day: str
    source: str                     # the publisher named by the feed's title and site, or "<source>"
    language: str = ""
    url: str = "https://feeds.example.org/feed.xml"
    content_type: str = "application/rss+xml"
    fallback_language: str = ""


CASES = [
    Case("lemonde-une-rss-2024.xml", False, "rss20", 19, "2024-01-18", "2024-01-18",
         "Le Monde", "fr", url="https://www.lemonde.fr/rss/une.xml"),
    Case("franceinfo-titres-rss-2024.xml", False, "rss20", 25, "2024-01-18", "2024-01-18",
         "Franceinfo", "fr", url="https://www.francetvinfo.fr/titres.rss",
         fallback_language="fr"),
    Case("lemonde-une-rss-2018.xml", True, "rss20", 21, "2018-02-09", "2018-02-11",
         "Le Monde", "fr", url="http://www.lemonde.fr/rss/une.xml", fallback_language="fr-FR"),
    Case("france24-fr-tag-immobilier-rss-2025.xml", False, "rss20", 24, "2022-10-18", "2024-12-03",
         "France 24", "fr",
         url="https://www.france24.com/fr/tag/immobilier/rss"),
    # 10 <item>s, one of them completely empty (no title, link, date or text): 9 articles
    Case("cerclepsy-fr-iso-8859-1-no-xml-decl.xml", True, "rss20", 9, "2018-10-17", "2018-10-17",
         "Le Cercle Psy", "fr",
         content_type="application/rss+xml; charset=ISO-8859-1", fallback_language="fr"),
    Case("bbc-news-world-rss.xml", True, "rss20", 33, "2026-02-14", "2026-02-18", "BBC News", "en",
         url="https://feeds.bbci.co.uk/news/world/rss.xml"),
    Case("aljazeera-all-rss.xml", True, "rss20", 25, "2026-02-17", "2026-02-18",
         "Al Jazeera", "en"),
    Case("nyt-world-rss.xml", True, "rss20", 57, "2026-02-14", "2026-02-18", "NYT", "en"),
    Case("dw-english-all-rss1-rdf.xml", True, "rss10", 141, "2026-01-20", "2026-02-18", "Deutsche Welle",
         "en", content_type="application/rdf+xml"),
    Case("npr-world-rss.xml", True, "rss20", 10, "2026-02-17", "2026-02-17", "NPR Topics", "en"),
    Case("washingtonpost-world-rss.xml", True, "rss20", 9, "2026-02-16", "2026-02-17",
         "washingtonpost.com", "en", fallback_language="en"),                   # title is "World"
    Case("abcnews-international-rss.xml", True, "rss20", 25, "2026-02-16", "2026-02-18",
         "ABC News", "en", fallback_language="en-US"),
    Case("guardian-us-rss-2018.xml", True, "rss20", 55, "2017-12-08", "2018-01-31", "The Guardian", "en"),
    Case("googlenews-search-en-us-bears-ears.xml", False, "rss20", 92, "2026-06-23", "2026-07-14",
         "<source>", "en", url="https://news.google.com/rss/search?q=%22Bears+Ears%22+monument&hl=en-US"),
    Case("googlenews-search-en-gb-brent-crude-trimmed.xml", True, "rss20", 6, "2026-07-23", "2026-08-05",
         "<source>", "en", url="https://news.google.com/rss/search?q=Brent+crude+oil+price&hl=en-GB"),
    Case("jornaldenoticias-pt-iso-8859-1-rss.xml", True, "rss20", 40, "2018-01-03", "2018-01-03",
         "Jornal de Notícias", "pt"),
    Case("intertwingly-atom-xhtml-content.atom", True, "atom10", 20, "2012-02-04", "2012-07-16",
         "intertwingly.net", "", url="https://intertwingly.net/blog/index.atom",
         content_type="application/atom+xml"),
    Case("tpm-atom-relative-links.atom", True, "atom10", 20, "2017-11-08", "2017-11-08", "TPM",
         "en", url="https://feeds.example.net/tpm/all.atom", content_type="application/atom+xml"),
]


def _path(case: Case) -> Path:
    return (COPIED if case.licensed else SHARED) / case.file


def parse_case(case: Case) -> ParsedFeed:
    path = _path(case)
    if not path.exists():
        pytest.skip(f"{path} not available (unlicensed capture, read from ../shared only)")
    return parse_feed(path.read_bytes(), url=case.url, headers={"Content-Type": case.content_type},
                      cleaner=Cleaner(), fallback_language=case.fallback_language, now=NOW)


def case_by_file(name: str) -> Case:
    return next(c for c in CASES if c.file == name)


def test_all_eighteen_files_are_listed():
    assert len(CASES) == 18 and len({c.file for c in CASES}) == 18
    for case in CASES:
        if case.licensed:
            assert (COPIED / case.file).exists(), case.file
        else:
            assert not (COPIED / case.file).exists(), f"{case.file} has no licence: must not be copied"


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_real_feed(case: Case):
    parsed = parse_case(case)
    articles = parsed.articles
    assert parsed.version == case.version
    assert len(articles) == case.count
    assert len({a.guid for a in articles}) == case.count
    lo, hi = day(case.first_day), day(case.last_day) + 86400
    for a in articles:
        assert lo <= a.published_at < hi, (a.title, a.published_at)          # a real date, not "now"
        assert a.title and not BAD_CHARS.search(a.title), repr(a.title)
        assert "CDATA" not in a.title and "&#" not in a.title and "&amp;" not in a.title, a.title
        assert not RUBRIC.match(a.title), a.title
        assert a.title == a.title.strip() and "  " not in a.title
        assert a.link.startswith(("http://", "https://")), a.link
        assert not TRACKING.search(a.canonical_url), a.canonical_url
        assert "#" not in a.canonical_url
        assert "<" not in a.summary or "<" in a.summary_raw                  # text, not markup
        assert not BAD_CHARS.search(a.summary.replace("\n", "")), repr(a.summary[:80])
        assert a.language == case.language
        if case.source == "<source>":
            assert a.is_google_news and a.source and not a.source.endswith("|")
            assert not a.title.endswith(" - " + a.source), a.title
            assert a.source_url.startswith("https://")
        else:
            assert a.source == case.source and not a.is_google_news and a.related == []


def test_franceinfo_rubrics_and_fragments():
    parsed = parse_case(case_by_file("franceinfo-titres-rss-2024.xml"))
    titles = [a.title for a in parsed.articles]
    assert titles[0] == ("Neige : de Paris à Lille, en passant par Rouen et Reims, "
                         "les internautes immortalisent leurs villes sous les flocons")
    assert "Français retrouvé pendu au Paraguay : une information judiciaire pour meurtre ouverte " \
           "par le parquet de Toulouse" in titles
    first = parsed.articles[0]
    assert "#xtor=RSS-3-[lestitres]" in first.link and "xtor" not in first.canonical_url


def test_lemonde_2024_no_break_spaces_and_cdata():
    parsed = parse_case(case_by_file("lemonde-une-rss-2024.xml"))
    first = parsed.articles[0]
    assert first.title == "En Ukraine, la russification à marche forcée des territoires occupés"
    assert first.link == ("https://www.lemonde.fr/international/article/2024/01/18/"
                          "en-ukraine-la-russification-a-marche-forcee-des-territoires-occupes_6211496_3210.html")
    assert any(" : " in a.title for a in parsed.articles)                    # U+00A0 became a space


def test_lemonde_2018_hair_space_and_short_guid():
    parsed = parse_case(case_by_file("lemonde-une-rss-2018.xml"))
    raw = (COPIED / "lemonde-une-rss-2018.xml").read_text(encoding="utf-8")
    assert "\u200a" in raw
    assert all("\u200a" not in a.title for a in parsed.articles)
    first = parsed.articles[0]
    assert first.guid.startswith("http://www.lemonde.fr/tiny/") and "xtor" not in first.canonical_url


def test_france24_source_is_not_the_photo_credit():
    parsed = parse_case(case_by_file("france24-fr-tag-immobilier-rss-2025.xml"))
    raw = _path(case_by_file("france24-fr-tag-immobilier-rss-2025.xml")).read_text(encoding="utf-8")
    assert raw.count("<source url=") == 11
    assert not any("AFP" in a.source or a.source_url.endswith(".jpg") for a in parsed.articles)
    assert all(a.source_url == "https://www.france24.com/fr/tag/immobilier/" for a in parsed.articles)


def test_cerclepsy_latin1_without_declaration_needs_the_http_charset():
    parsed = parse_case(case_by_file("cerclepsy-fr-iso-8859-1-no-xml-decl.xml"))
    assert not parsed.bozo
    titles = [a.title for a in parsed.articles]
    assert "Caroline Eliacheff : « Dolto reste authentiquement subversive »" in titles
    assert "L'enfant doué : quand trop comprendre... empêche parfois de comprendre" in titles


def test_bbc_ttl_and_tracking():
    parsed = parse_case(case_by_file("bbc-news-world-rss.xml"))
    assert parsed.ttl_seconds == 900.0
    first = parsed.articles[0]
    assert "at_medium=RSS" in first.link
    assert first.canonical_url == "https://www.bbc.com/news/articles/cp81l0e1eg5o"


def test_guardian_escaped_html_becomes_text():
    parsed = parse_case(case_by_file("guardian-us-rss-2018.xml"))
    first = parsed.articles[0]
    assert first.summary.startswith("The president’s ‘new American moment’ speech")
    assert "<p>" in first.summary_raw and "<p>" not in first.summary
    assert all("Continue reading" in a.summary_raw for a in parsed.articles)     # in all 55 descriptions
    assert not any("Continue reading" in a.summary for a in parsed.articles)    # boilerplate line dropped
    assert first.author == "David Smith in Washington"


def test_google_news_bears_ears_publishers():
    parsed = parse_case(case_by_file("googlenews-search-en-us-bears-ears.xml"))
    first = parsed.articles[0]
    assert first.title == "Trump again shrinks two national monuments in Utah"
    assert first.source == "The Washington Post" and first.source_url == "https://www.washingtonpost.com"
    assert first.link.startswith("https://news.google.com/rss/articles/CBMi") and first.link.endswith("?oc=5")
    assert first.canonical_url == first.link
    assert len(first.related) == 9 and first.related[1].source == "The Salt Lake Tribune"
    assert [a for a in parsed.articles if a.related] == [first]               # one cluster in the capture
    san_juan = [a for a in parsed.articles if a.source_url == "https://www.sjrnews.com"]
    assert san_juan and all(a.source == "San Juan Record" for a in san_juan)
    assert san_juan[0].title == (
        "President Trump signs proclamation reducing Bears Ears Monument to 121,100 acres"
    )


def test_google_news_brent_publisher_with_pipe():
    parsed = parse_case(case_by_file("googlenews-search-en-gb-brent-crude-trimmed.xml"))
    oil = [a for a in parsed.articles if a.source_url == "https://oilprice.com"]
    assert len(oil) == 4 and all(a.source == "Crude Oil Prices Today | OilPrice.com" for a in oil)
    assert oil[0].title == "Middle East War Triggers New Global Refining Boom"
    assert any(a.published_at == day("2026-08-05") for a in parsed.articles)   # the 00:00:00 GMT item


def test_jornal_de_noticias_latin1_origlink_and_pixel_only_descriptions():
    parsed = parse_case(case_by_file("jornaldenoticias-pt-iso-8859-1-rss.xml"))
    first = parsed.articles[0]
    assert first.title == "Mãe de utente é a nova presidente da Raríssimas"
    assert first.link.startswith("https://www.jn.pt/") and "feeds.jn.pt" not in first.link
    assert all("feedsportal" not in a.summary and "<img" not in a.summary for a in parsed.articles)
    assert any(a.summary == "" for a in parsed.articles)                       # description = tracking pixel


def test_atom_relative_links_resolve_against_the_site():
    tpm = parse_case(case_by_file("tpm-atom-relative-links.atom"))
    assert all(a.link.startswith("http://talkingpointsmemo.com/") for a in tpm.articles)
    first = tpm.articles[0]
    assert first.link == ("http://talkingpointsmemo.com/livewire/"
                          "hannity-announces-fox-hired-sebastian-gorka-national-security-strategist")
    assert first.author == "Esme Cribb"
    blog = parse_case(case_by_file("intertwingly-atom-xhtml-content.atom"))
    assert blog.articles[0].link == "https://intertwingly.net/blog/2012/07/16/Inhibiting-Suspend"
    assert all("<svg" not in a.summary and "stroke-width" not in a.summary for a in blog.articles)
