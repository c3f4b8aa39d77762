"""parse_feed on hand-made fixtures, fetched over real HTTP from the local feed server.

Each fixture in tests/data/feeds/ holds one family of edge cases; the body goes through Fetcher
(so charset and Content-Location come from real response headers) and then parse_feed in a worker
thread, as the pipeline does.
"""

from __future__ import annotations

import asyncio
import calendar
from pathlib import Path

import pytest

from bot.config.models import PollingConfig
from bot.errors import ParseError
from bot.models import Article, ParsedFeed, RelatedLink
from bot.pipeline.fetch.fetcher import Fetcher
from bot.pipeline.parse.feed import parse_feed, parse_related
from bot.pipeline.parse.normalize import Cleaner
from tests.feedserver import FeedServer

DATA = Path(__file__).parent / "data"
FEEDS = DATA / "feeds"
NOW = float(calendar.timegm((2027, 1, 1, 12, 0, 0)))    # after every fixture's dates
POLLING = PollingConfig(timeout=2.0, connect_timeout=1.0)
RSS_TYPE = "application/rss+xml; charset=utf-8"


def utc(*parts: int) -> float:
    return float(calendar.timegm((*parts, 0, 0, 0)[:6]))


async def serve_and_parse(
    server: FeedServer,
    name: str,
    *,
    body: bytes | None = None,
    content_type: str = RSS_TYPE,
    headers: dict[str, str] | None = None,
    cleaner: Cleaner | None = None,
    fallback_language: str = "",
) -> ParsedFeed:
    """Serve a fixture, fetch it with the real Fetcher, parse it in a thread."""
    path = "/" + name
    data = body if body is not None else (FEEDS / name).read_bytes()
    server.route(path, data, content_type=content_type, headers=headers)
    async with Fetcher(POLLING) as fetcher:
        result = await fetcher.fetch(server.url(path))
    return await asyncio.to_thread(
        parse_feed, result.body, url=result.final_url, headers=result.headers,
        cleaner=cleaner or Cleaner(), fallback_language=fallback_language, now=NOW,
    )


def by_title(parsed: ParsedFeed) -> dict[str, Article]:
    return {a.title: a for a in parsed.articles}


# -- RSS 2.0 edge cases ---------------------------------------------------------------------------


async def test_rss20_edge_cases(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "rss20-edge-cases.xml")
    assert parsed.version == "rss20" and not parsed.bozo and parsed.bozo_message == ""
    assert parsed.title == "Le Petit Quotidien – International"
    assert parsed.link == "https://www.petit-quotidien.example/international/"
    assert parsed.language == "fr" and parsed.ttl_seconds == 1800.0
    # 11 items, one repeats the first guid: the first one wins
    assert len(parsed.articles) == 10
    articles = by_title(parsed)
    assert "Doublon : même guid que le premier" not in articles

    first = parsed.articles[0]
    assert first.guid == "pq-0001"
    assert first.title == "Neige : Paris sous les flocons"                 # rubric + NBSP gone
    assert first.link.startswith("https://www.petit-quotidien.example/photos/neige-paris.html?utm_source")
    assert first.canonical_url == "https://www.petit-quotidien.example/photos/neige-paris.html?id=42"
    assert first.published_at == utc(2024, 1, 18, 8, 53)                   # +0100 → UTC
    assert first.fetched_at == NOW
    assert first.summary == (
        "La vigilance orange a été levée jeudi matin.\nLes flocons ont offert de belles images."
    )
    assert "<script>" in first.summary_raw                                  # raw kept as received
    assert first.author == "Marie Dupont"
    assert first.source == "Le Petit Quotidien – International"
    assert first.source_url == "https://www.petit-quotidien.example/international/"
    assert first.language == "fr" and not first.is_google_news and first.related == []


async def test_relative_link_resolves_against_the_feed_site_not_the_fetch_url(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "rss20-edge-cases.xml")
    article = by_title(parsed)["Relative link"]
    assert article.link == "https://www.petit-quotidien.example/politique/2024/01/18/relative.html"
    assert article.canonical_url == article.link


async def test_entries_without_guid_or_date(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "rss20-edge-cases.xml")
    articles = by_title(parsed)
    no_guid = articles["Sans guid ni date"]
    assert no_guid.guid == no_guid.link == "https://www.petit-quotidien.example/sans-guid-ni-date.html"
    assert no_guid.published_at == NOW                                       # no date: fetch time
    no_link = articles["Ni guid, ni lien"]
    assert no_link.link == "" and no_link.canonical_url == ""
    assert no_link.guid.startswith("sha1:") and no_link.published_at == utc(2024, 1, 18, 10, 0)
    again = await serve_and_parse(feed_server, "rss20-edge-cases.xml")
    assert by_title(again)["Ni guid, ni lien"].guid == no_link.guid         # stable across polls


async def test_unsafe_links_future_dates_entities_and_boilerplate(feed_server: FeedServer):
    articles = by_title(await serve_and_parse(feed_server, "rss20-edge-cases.xml"))
    js = articles["Lien javascript"]
    assert js.link == "" and js.canonical_url == "" and js.guid == "pq-0006"
    assert articles["Date dans le futur"].published_at == NOW
    crise = articles["Crise : l’Europe & l’Ukraine face à Moscou"]        # hair space, &amp;, NBSP
    assert crise.summary == "Texte échappé & entités."                     # "Lire aussi" line dropped
    assert articles["WordPress footer"].summary == "Un vrai paragraphe."
    orig = articles["FeedBurner origLink"]
    assert orig.link == "https://www.petit-quotidien.example/origlink.html?xtor=RSS-1"
    assert orig.canonical_url == "https://www.petit-quotidien.example/origlink.html"
    content = articles["Contenu complet"]
    assert content.summary == "Intertitre\nSeulement du contenu encodé."    # content:encoded, "Partager" gone
    assert content.guid == "https://www.petit-quotidien.example/contenu.html"


# -- Atom 1.0 -------------------------------------------------------------------------------------


async def test_atom10(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "atom10-basic.atom", content_type="application/atom+xml")
    assert parsed.version == "atom10" and parsed.title == "World Desk — The Example Herald"
    assert parsed.language == "en" and len(parsed.articles) == 3
    first, second, third = parsed.articles
    assert first.title == "Seoul weighs sending observers to Ukraine"       # type="html" title
    assert first.link == "https://www.herald.example/world/2024/10/23/seoul-observers"
    assert first.guid == "tag:herald.example,2024:1001"
    assert first.published_at == utc(2024, 10, 23, 6, 15)                   # published, not updated
    assert first.author == "Jane Roe"
    assert first.summary == "South Korea is considering sending a team to analyse North Korean tactics."
    assert second.published_at == utc(2024, 10, 22, 18, 30)                # only <updated>
    assert second.summary == "XHTML content only."
    assert third.language == "fr" and first.language == "en"


# -- RSS 1.0 (real DW capture) --------------------------------------------------------------------


async def test_rss10_dw(feed_server: FeedServer):
    body = (DATA / "feeds-real" / "dw-english-all-rss1-rdf.xml").read_bytes()
    parsed = await serve_and_parse(feed_server, "dw.rdf", body=body, content_type="application/rdf+xml")
    assert parsed.version == "rss10" and len(parsed.articles) == 141
    first = parsed.articles[0]
    assert first.title == "France arrests nine in right-wing activist's death"
    assert first.published_at == utc(2026, 2, 18, 0, 15)                    # dc:date only
    assert "?maca=" in first.link and "maca" not in first.canonical_url
    assert first.language == "en"


# -- Google News ----------------------------------------------------------------------------------


async def test_google_news_topic_feed_with_related_coverage(feed_server: FeedServer):
    # served from 127.0.0.1: recognised as Google News by its channel link
    parsed = await serve_and_parse(feed_server, "googlenews-topic-fr.xml")
    assert parsed.language == "fr" and len(parsed.articles) == 4
    a, b, c, d = parsed.articles
    assert all(x.is_google_news for x in parsed.articles)
    assert a.title == "Corée du Nord : des milliers de soldats envoyés en Russie, selon Séoul"
    assert a.source == "Le Monde" and a.source_url == "https://www.lemonde.fr"
    assert a.link.startswith("https://news.google.com/rss/articles/CBMi") and a.link.endswith("?oc=5")
    assert a.canonical_url == a.link                                         # opaque id kept whole
    assert a.guid.startswith("CBMi") and a.summary == "" and "<ol>" in a.summary_raw
    assert a.published_at == utc(2024, 10, 23, 7, 12)
    assert [(r.source, r.title) for r in a.related] == [
        ("Le Monde", "Corée du Nord : des milliers de soldats envoyés en Russie, selon Séoul"),
        ("franceinfo", "Guerre en Ukraine : Pyongyang aurait déjà déployé 3 000 soldats en Russie"),
        ("Le Figaro", "Soldats nord-coréens en Russie : Kiev dénonce une « escalade »"),
        ("Ouest-France.fr", "VIDÉO. Des images de soldats nord-coréens dans l’Extrême-Orient russe"),
    ]
    assert all(r.url.startswith("https://news.google.com/rss/articles/") for r in a.related)
    assert b.title == "Guerre en Ukraine : Séoul envisage d’envoyer des observateurs"
    assert b.source == "franceinfo" and len(b.related) == 3
    assert c.source == "Libération" and c.related == []                     # single item, no <ol>
    assert d.title == "Koursk : l’armée russe peine à repousser les forces ukrainiennes - Analyse"
    assert d.source == "Courrier international"


async def test_google_news_search_feed(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "googlenews-search-fr.xml")
    assert [(a.title, a.source) for a in parsed.articles] == [
        ("Soldats nord-coréens en Russie : ce que l’on sait", "20 Minutes"),
        ("Corée du Nord - Russie : l’alliance militaire se concrétise", "La Croix"),
        ("Pyongyang dément l’envoi de troupes", "Le Journal de Montréal"),   # trailing " |" trap
    ]
    assert all(a.is_google_news and a.related == [] and a.summary == "" for a in parsed.articles)


def test_google_news_detected_by_url_host():
    body = (FEEDS / "googlenews-search-fr.xml").read_bytes().replace(
        b"https://news.google.com/search?", b"https://example.org/search?"
    )
    url = "https://news.google.com/rss/search?q=Cor%C3%A9e&hl=fr&gl=FR&ceid=FR:fr"
    parsed = parse_feed(body, url=url, headers={}, cleaner=Cleaner(), now=NOW)
    assert all(a.is_google_news for a in parsed.articles)
    other = parse_feed(body, url="https://example.org/feed", headers={}, cleaner=Cleaner(), now=NOW)
    assert not any(a.is_google_news for a in other.articles)
    assert other.articles[0].source == "example.org"            # the site names it, not the title
    assert other.articles[0].title.endswith(" - 20 Minutes")                 # no GN rule applied


def test_source_element_in_an_ordinary_feed_is_not_the_publisher():
    # France 24 puts the photo credit in <source>: the publisher stays the feed's title
    body = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
    <title>Immobilier - France 24</title><link>https://www.france24.com/fr/</link>
    <item><title>Vietnam : peine de mort confirm\xc3\xa9e - France 24</title>
    <link>https://www.france24.com/fr/a</link><guid isPermaLink="false">uuid-1</guid>
    <source url="https://s.france24.com/media/display/x.jpg">\xc2\xa9 AFP (archives)</source>
    </item></channel></rss>"""
    parsed = parse_feed(body, url="https://www.france24.com/fr/tag/immobilier/rss", headers={},
                        cleaner=Cleaner(), now=NOW)
    article = parsed.articles[0]
    assert article.source == "France 24" and "AFP" not in article.source
    assert article.source_url == "https://www.france24.com/fr/" and not article.is_google_news
    assert article.title == "Vietnam : peine de mort confirmée - France 24"


def test_parse_related_ignores_junk():
    html = (
        '<ol><li><a href="https://news.google.com/rss/articles/A?oc=5">One</a>&nbsp;&nbsp;'
        '<font color="#6f6f6f">Pub One |</font></li>'
        '<li>no link here</li><li><a href="javascript:alert(1)">Bad</a></li></ol>'
    )
    expected = RelatedLink("One", "https://news.google.com/rss/articles/A?oc=5", "Pub One")
    assert parse_related(html) == [expected]
    assert parse_related("<a href='https://x.example'>single</a>") == []


# -- malformed, not a feed ------------------------------------------------------------------------


async def test_malformed_xml_still_yields_entries(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "malformed-still-has-entries.xml")
    assert parsed.bozo and parsed.bozo_message
    assert [a.title for a in parsed.articles] == ["Profits & losses at the port of Busan",
                                                   "Second story survives"]
    assert parsed.articles[0].summary == "Markets fell — sharply."              # HTML entities in XML


async def test_html_page_is_not_a_feed(feed_server: FeedServer):
    with pytest.raises(ParseError) as info:
        await serve_and_parse(feed_server, "not-a-feed.html", content_type="text/html; charset=utf-8")
    assert str(info.value) == "not a feed: got text/html"
    assert info.value.url.endswith("/not-a-feed.html")


async def test_html_page_served_as_rss_is_still_not_a_feed(feed_server: FeedServer):
    with pytest.raises(ParseError, match="^not a feed: got text/html$"):
        await serve_and_parse(feed_server, "not-a-feed.html", content_type="application/rss+xml")


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b'{"items": []}', "application/json",
     "not a feed: got application/json with no jsonfeed.org version"),
    (b"just some words", "", "not a feed: got a document with no feed version"),
    (b"   \n ", "text/xml", "not a feed: empty document"),
])
def test_other_non_feeds(body: bytes, content_type: str, message: str):
    headers = {"Content-Type": content_type} if content_type else {}
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://ex.org/f", headers=headers, cleaner=Cleaner(), now=NOW)
    assert str(info.value) == message


def test_feed_with_no_items_is_fine():
    body = b'<rss version="2.0"><channel><title>Empty</title><ttl>abc</ttl></channel></rss>'
    parsed = parse_feed(body, url="https://ex.org/f", headers={}, cleaner=Cleaner(), now=NOW)
    assert parsed.articles == [] and parsed.title == "Empty" and parsed.ttl_seconds is None


# -- encodings ------------------------------------------------------------------------------------

EXPECTED_LATIN1 = ["Noël à l'Élysée : déjà la trêve ?", "Côte d'Ivoire : été sec, récoltes réduites"]


async def test_iso_8859_1_with_declaration(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "iso-8859-1-declared.xml", content_type="application/rss+xml")
    assert [a.title for a in parsed.articles] == EXPECTED_LATIN1 and not parsed.bozo
    assert parsed.articles[0].summary == "Garçons et filles fêtent Noël ; « ça ira » dit le maître d'hôtel."


async def test_iso_8859_1_without_declaration_charset_from_http_header(feed_server: FeedServer):
    parsed = await serve_and_parse(
        feed_server, "iso-8859-1-no-declaration.xml", content_type="text/xml; charset=ISO-8859-1"
    )
    assert [a.title for a in parsed.articles] == EXPECTED_LATIN1 and not parsed.bozo
    assert parsed.title == "La Gazette de l'Élysée"


async def test_iso_8859_1_without_any_charset_is_sniffed_and_flagged(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "iso-8859-1-no-declaration.xml", content_type="text/xml")
    assert [a.title for a in parsed.articles] == EXPECTED_LATIN1
    assert parsed.bozo and "windows-1252" in parsed.bozo_message             # recorded, not fatal


# -- links and languages --------------------------------------------------------------------------

NO_SITE_LINK = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>No link</title>
<item><title>Relative</title><link>../articles/b.html</link><guid>g1</guid></item></channel></rss>"""


async def test_relative_link_uses_content_location_header(feed_server: FeedServer):
    parsed = await serve_and_parse(
        feed_server, "rel.xml", body=NO_SITE_LINK,
        headers={"Content-Location": "https://real.example/feeds/rss.xml"},
    )
    assert parsed.articles[0].link == "https://real.example/articles/b.html"


async def test_relative_link_falls_back_to_the_fetched_url(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "sub/rel.xml", body=NO_SITE_LINK)
    assert parsed.articles[0].link == feed_server.url("/articles/b.html")


def test_language_fallback_and_normalisation():
    body = (b'<rss version="2.0"><channel><title>T</title>'
            b"<item><title>x</title><guid>1</guid></item></channel></rss>")

    def language(data: bytes, fallback: str = "") -> str:
        parsed = parse_feed(data, url="https://e.org/", headers={}, cleaner=Cleaner(),
                            fallback_language=fallback, now=NOW)
        return parsed.articles[0].language

    assert language(body, "fr-FR") == "fr"
    assert language(body) == ""
    with_lang = body.replace(b"<title>T</title>", b"<title>T</title><language>EN-gb</language>")
    assert language(with_lang, "fr") == "en"


# -- hostile input --------------------------------------------------------------------------------


def test_control_characters_and_absurd_sizes_are_contained():
    huge_title = "T" * (10 * 1024 * 1024)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title>'
        f"<item><title>bell\x07 and nul\x00 inside</title><guid>1</guid><link>https://e.org/1</link></item>"
        f"<item><title>{huge_title}</title><guid>2</guid><description>{'mot ' * 100_000}</description></item>"
        "<item></item>"
        "</channel></rss>"
    ).encode()
    parsed = parse_feed(body, url="https://e.org/f", headers={}, cleaner=Cleaner(), now=NOW)
    assert parsed.bozo                                                          # raw controls: not XML
    first, second = parsed.articles                                             # the empty item is skipped
    assert first.title == "bell and nul inside"
    assert len(second.title) == 1000 and len(second.summary) <= 20_000


# -- the seed article, as a content farm republishes it ------------------------------------------


async def test_seed_article_boilerplate_is_removed(feed_server: FeedServer):
    parsed = await serve_and_parse(feed_server, "seed-republished.xml")
    (article,) = parsed.articles
    seed_lines = [
        " ".join(line.replace("\u00a0", " ").split()).lstrip("• ").strip()
        for line in (DATA / "seed" / "000_d65a453aca90a03a.txt").read_text(encoding="utf-8").split("\n")
    ]
    boilerplate = {"Ajouter", "Article ajouté", "Téléchargez le PDF",
                   "For Latest Updates Follow us on Google News"}
    assert boilerplate <= set(seed_lines)                                      # the seed really has them
    summary_lines = article.summary.split("\n")
    for line in boilerplate:
        assert line not in summary_lines and line not in article.summary
    body_lines = [x for x in seed_lines[3:] if x and x not in boilerplate]
    assert summary_lines == body_lines                          # everything else kept, in order
    assert article.title == ("Le déploiement de troupes nord-coréennes en Russie représente l’une des "
                             "escalades les plus importantes depuis février 2022")
    assert article.source == "News Day FR" and article.language == "fr"
    assert article.canonical_url == "https://newsdayfr.example/monde/coree-du-nord-troupes-russie/"
