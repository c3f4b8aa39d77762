"""Properties of the ingest normalisers and the tagger over generated input (hypothesis).

Covered here: canonical_url, html_to_text, Cleaner.title / Cleaner.summary, and the tagger's
case and accent invariance. Not here because they exist elsewhere: digest rendering of arbitrary
titles/sources/URLs into valid Telegram HTML (tests/test_digest.py::
test_any_input_renders_valid_telegram_html) and "tagging never raises" plus "a keyword written in
a text is found" (tests/test_tagging_properties.py). Example counts are kept small: the file runs
in a few seconds.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import TagConfig
from bot.pipeline.parse.normalize import (
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    SKIP_TAGS,
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    Cleaner,
    canonical_url,
    html_to_text,
    is_http_url,
)
from bot.pipeline.tagging import Tagger

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _bad_chars(text: str, allowed: str = "") -> list[str]:
    """Control and format characters that have no place in stored text (bar ``allowed``)."""
    return [c for c in text if c not in allowed and (unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS)]


# -- canonical_url -------------------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
HOST = st.lists(WORD, min_size=1, max_size=3).map(".".join).map(lambda h: h + ".example")
KNOWN_TRACKERS = st.sampled_from(["utm_source", "utm_medium", "UTM_Campaign", "fbclid", "gclid", "xtor",
                                  "at_medium", "mc_cid", "_ga", "ns_mchannel", "pk_campaign", "mtm_kwd"])
PLAIN_KEYS = WORD.filter(lambda k: not _is_tracking(k))
# Values already in canonical form: unreserved characters, "+" (a space) and upper-case escapes
# of bytes that must stay escaped ("&", "=", "%", "#", "é" in UTF-8). A lone "%", "%20" or "%7e"
# is not canonical (w3lib writes "%25", "+" and "~"): test_percent_escapes_compare_equal.
VALUE_TOKENS = [*"abcXYZ0123456789-._~+", "%26", "%3D", "%25", "%23", "%C3%A9"]
VALUES = st.lists(st.sampled_from(VALUE_TOKENS), max_size=6).map("".join)


@st.composite
def http_urls(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(url, its non-tracking 'k=v' parts, its tracking keys), with random case, port, fragment."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(HOST)
    host = "".join(c.upper() if draw(st.booleans()) else c for c in host[:12]) + host[12:]
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = draw(st.sampled_from(["", "/", "/a/b", "/news/2026/11/20/story.html", "/x;y"]))
    plain = [f"{k}={v}" for k, v in draw(st.lists(st.tuples(PLAIN_KEYS, VALUES), max_size=4))]
    trackers = draw(st.lists(KNOWN_TRACKERS, max_size=4))
    parts = plain + [f"{k}={draw(VALUES)}" for k in trackers]
    parts = draw(st.permutations(parts))
    query = ("?" + "&".join(parts)) if parts or draw(st.booleans()) else ""
    fragment = draw(st.sampled_from(["", "#top", "#utm_source=x", "#"]))
    return f"{scheme}://{host}{port}{path}{query}{fragment}", plain, trackers


@FAST
@given(ANY_TEXT)
def test_canonical_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_canonical_url_of_http_prefixed_garbage_stays_http(tail: str) -> None:
    for url in (f"http://{tail}", f"https://news.example/{tail}", f"HTTPS://{tail}"):
        out = canonical_url(url)
        assert canonical_url(out) == out
        assert out.lower().startswith(("http://", "https://"))


@FAST
@given(http_urls())
def test_canonical_url_strips_tracking_and_keeps_the_rest(case: tuple[str, list[str], list[str]]) -> None:
    url, plain, _ = case
    out = canonical_url(url)
    assert out.startswith(("http://", "https://")) and is_http_url(out)
    assert canonical_url(out) == out
    parts = urlsplit(out)
    assert "#" not in out
    assert parts.hostname == urlsplit(url).hostname and parts.netloc == parts.netloc.lower()
    kept = [p for p in parts.query.split("&") if p]
    assert not [p for p in kept if _is_tracking(p.split("=", 1)[0])]
    assert sorted(kept) == sorted(plain)                          # nothing else lost or changed
    assert parts.port != {"http": 80, "https": 443}[parts.scheme]    # default port dropped



UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"


def _escaped(text: str, hexdigits: str) -> str:
    return "".join(c if c in UNRESERVED else "".join("%" + format(b, hexdigits) for b in c.encode())
                   for c in text)


@FAST
@given(st.text(alphabet=st.one_of(st.characters(codec="utf-8", categories=["L", "N"]),
                                  st.sampled_from("-._~")), min_size=1, max_size=12))
def test_percent_escapes_compare_equal(segment: str) -> None:
    """A path segment of letters and digits (any script) written raw, escaped in lower case or
    escaped in upper case gives one key: "café" == "caf%c3%a9" == "caf%C3%A9"."""
    segment = unicodedata.normalize("NFC", segment)
    spellings = (segment, _escaped(segment, "02x"), _escaped(segment, "02X"))
    keys = {canonical_url(f"https://news.example/a/{s}?id=1") for s in spellings}
    assert len(keys) == 1, (spellings, keys)

# -- html_to_text -----------------------------------------------------------------------------------

TEXT_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzàéü0123456789 .,;:!?'’-", min_size=1, max_size=15)
INLINE = ["b", "i", "em", "strong", "span", "a", "font", "u", "small", "code"]
# No <table>/<tr>: the HTML parser moves text found directly inside them before the table.
BLOCK = ["p", "div", "li", "ul", "ol", "blockquote", "h2", "section", "td", "pre"]


def _tree(children: st.SearchStrategy[list]) -> st.SearchStrategy:
    return st.tuples(st.sampled_from(INLINE + BLOCK), st.lists(children, max_size=4))


NODES = st.recursive(TEXT_WORDS, lambda inner: _tree(inner), max_leaves=30)


def _render(node: object) -> tuple[str, str]:
    """(HTML, its text) for a generated node."""
    if isinstance(node, str):
        return node, node
    tag, children = node  # type: ignore[misc]
    rendered = [_render(c) for c in children]
    attrs = ' href="https://e.example/x?a=1&amp;b=2"' if tag == "a" else ""
    html = f"<{tag}{attrs}>" + "".join(h for h, _ in rendered) + f"</{tag}>"
    return html, "".join(t for _, t in rendered)


@FAST
@given(ANY_TEXT)
def test_html_to_text_never_raises_and_yields_clean_lines(html: str) -> None:
    text = html_to_text(html)
    assert not _bad_chars(text, allowed="\n")
    for line in text.split("\n") if text else []:
        assert line and line == line.strip() and "  " not in line


@FAST
@given(st.lists(NODES, min_size=1, max_size=4))
def test_html_to_text_keeps_the_words_and_drops_the_markup(nodes: list) -> None:
    rendered = [_render(n) for n in nodes]
    html = "".join(h for h, _ in rendered)
    expected = "".join(t for _, t in rendered)
    text = html_to_text(html)
    assert "<" not in text and ">" not in text
    assert "href" not in text or "href" in expected              # the words themselves may spell it
    assert "".join(text.split()) == "".join(expected.split())      # same characters, same order


# A <head> tag inside a fragment is dropped by the HTML parser (its text stays, as plain text).
@FAST
@given(st.sampled_from([t for t in SKIP_TAGS if t != "head"]), TEXT_WORDS, TEXT_WORDS)
def test_html_to_text_drops_scripts_and_styles(tag: str, secret: str, visible: str) -> None:
    secret = "zq" + secret.replace(" ", "") + "qz"
    text = html_to_text(f"<p>{visible}</p><{tag}>{secret}</{tag}><p>{visible}</p>")
    assert secret not in text.replace(" ", "")


# -- Cleaner -------------------------------------------------------------------------------------------

CLEANER = Cleaner(["(?i)sponsored by .+"])
TITLE_TEXT = st.one_of(
    ANY_TEXT,
    st.text(alphabet=st.sampled_from(list("ab É.:-–|•\u00a0\u202e\u2066\u200b\x00\x07\t\n&<>;#")),
            max_size=80),
    st.builds(lambda rubric, rest: f"{rubric} {rest}",
              st.sampled_from(["EN IMAGES.", "VIDÉO.", "LIVE:", "INFO FRANCEINFO.", "DIRECT -"]), ANY_TEXT),
)


@FAST
@given(TITLE_TEXT)
def test_title_is_one_clean_bounded_line(raw: str) -> None:
    title = CLEANER.title(raw)
    assert not _bad_chars(title) and "\n" not in title
    assert title == title.strip() and "  " not in title
    assert len(title) <= MAX_TITLE_CHARS


@FAST
@given(TITLE_TEXT)
def test_title_is_idempotent_without_markup(raw: str) -> None:
    # Idempotent-ish: markup and entities are decoded once by design ("&amp;lt;b&amp;gt;" is the
    # text "&lt;b&gt;" once cleaned, then "<b>" the time after), and rubric prefixes are removed
    # three at most per call. Outside those two, cleaning a clean title changes nothing.
    once = CLEANER.title(raw)
    if "&" in raw or "<" in raw:
        return
    twice = CLEANER.title(once)
    assert twice == once or (len(twice) < len(once) and once.endswith(twice))


@FAST
@given(ANY_TEXT)
def test_summary_is_clean_bounded_text(raw: str) -> None:
    summary = CLEANER.summary(raw)
    assert not _bad_chars(summary, allowed="\n")
    assert len(summary) <= MAX_SUMMARY_CHARS
    assert all(line and line == line.strip() for line in summary.split("\n")) or summary == ""


# -- the tagger: case and accents do not matter for ordinary keywords ----------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzéèêëàâäçîïôöûüùÿ"
KEYWORD_WORD = st.text(alphabet=LETTERS, min_size=2, max_size=9)
FILLER = st.lists(st.text(alphabet=LETTERS + " ,.", max_size=10), max_size=4).map(" ".join)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@FAST
@given(st.lists(KEYWORD_WORD, min_size=1, max_size=3), FILLER, FILLER,
       st.sampled_from(["upper", "lower", "title", "no-accents", "upper-no-accents", "swapcase"]))
def test_tag_matching_ignores_case_and_accents(
    words: list[str], before: str, after: str, change: str
) -> None:
    keyword = " ".join(words)
    # A keyword counts as an acronym (case-sensitive) only when all-capital: written lower-case here.
    tagger = Tagger.from_config((TagConfig("t", {"en": "t"}, (keyword,)),))
    variant = {
        "upper": keyword.upper(), "lower": keyword.lower(), "title": keyword.title(),
        "no-accents": _strip_accents(keyword), "upper-no-accents": _strip_accents(keyword).upper(),
        "swapcase": keyword.swapcase(),
    }[change]
    original = tagger.tag(f"{before} {keyword} {after}", "")
    changed = tagger.tag(f"{before} {variant} {after}", "")
    assert "t" in original
    assert set(changed) == set(original)
    assert tagger.tag("", f"{after}. {variant.upper()}!") .keys() == {"t"}


@FAST
@given(ANY_TEXT, ANY_TEXT)
def test_tagger_with_a_real_taxonomy_never_raises(title: str, summary: str) -> None:
    tagger = Tagger.from_config((
        TagConfig("korea", {"en": "Korea"}, ("Corée du Nord", "Pyongyang", "nord-coréen*", "DPRK"),
                  exclude=("Corée du Nord-Est",)),
        TagConfig("nato", {"en": "NATO"}, ("OTAN", "NATO", "Alliance atlantique"), min_mentions=2),
    ))
    result = tagger.tag(title, summary)
    assert set(result) <= {"korea", "nato"}
    assert all(isinstance(v, str) and v for v in result.values())
