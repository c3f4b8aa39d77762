"""bot.config.discover.feed_links on hand-written heads (pure: HTML text in, links out)."""

from __future__ import annotations

from bot.config.discover import MAX_LINKS, FeedLink, feed_links


def test_advertised_feeds_in_page_order_resolved_and_deduplicated() -> None:
    html = """<html><head>
    <link rel="Alternate" type="application/rss+xml; charset=utf-8" href=" /rss.xml " title="  Main
      feed ">
    <link rel="alternate nofollow" type="APPLICATION/ATOM+XML" href="atom.xml">
    <link rel="alternate" type="application/feed+json" href="https://cdn.example/f.json">
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="text/html" href="/en/">
    <link rel="stylesheet" type="application/rss+xml" href="/not-alternate.xml">
    <link rel="alternate" type="application/rss+xml">
    </head><body><link rel="alternate" type="application/rdf+xml" href="/rdf"></body></html>"""
    assert feed_links(html, "https://site.example/news/page.html") == [
        FeedLink("https://site.example/rss.xml", "Main feed", "application/rss+xml"),
        FeedLink("https://site.example/news/atom.xml", "", "application/atom+xml"),
        FeedLink("https://cdn.example/f.json", "", "application/feed+json"),
        FeedLink("https://site.example/rdf", "", "application/rdf+xml"),
    ]


def test_base_href_and_hostile_pages() -> None:
    based = '<head><base href="https://other.example/a/"><link rel="alternate" ' \
            'type="application/atom+xml" href="feed"></head>'
    assert [link.url for link in feed_links(based, "https://site.example/")] == ["https://other.example/a/feed"]
    many = "".join(f'<link rel="alternate" type="application/rss+xml" href="/f{i}">' for i in range(500))
    assert len(feed_links(many, "https://site.example/")) == MAX_LINKS
    # Tree building is quadratic in depth: 100,000 nested tags took over a minute before the cut.
    deep = '<link rel="alternate" type="application/rss+xml" href="/top">' + "<div>" * 100_000 + (
        '<link rel="alternate" type="application/rss+xml" href="/deep">')
    assert [link.url for link in feed_links(deep, "https://site.example/")] == ["https://site.example/top"]
    assert feed_links("", "https://site.example/") == []
    assert feed_links("\x00\ufffd<<<>>>", "https://site.example/") == []
