"""Pure text and URL normalisation for feed entries (no I/O, no global mutable state).

- ``canonical_url``: one spelling per article URL, so copies of a link compare equal.
- ``html_to_text``: HTML to plain text with a real HTML parser (selectolax/lexbor), never regexes
  on tags; block elements become line breaks.
- ``clean_title``: one tidy line: entities decoded, tags stripped, odd spaces, control
  characters and bidi overrides gone, upper-case rubric prefixes ("EN IMAGES.", "VIDÉO.", "LIVE:") removed.
- ``Cleaner``: the above plus republisher boilerplate lines ("Téléchargez le PDF", "The post …
  appeared first on …"), from a default list extended by ``config.cleaning.extra_boilerplate``.
- ``split_publisher_suffix``: "Headline - Publisher" → "Headline" (Google News titles).
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser
from w3lib.url import canonicalize_url

# -- limits ------------------------------------------------------------------------------------

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000
# HTML tree building is quadratic in nesting depth (10,000 nested <div> take ~0.1 s, 200,000 take
# minutes), so the parser never sees more than this many tags nor this many characters.
MAX_HTML_TAGS = 5_000
MAX_HTML_CHARS = 400_000

# -- canonical URLs ----------------------------------------------------------------------------

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "xtor", "maca", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "at_format", "at_link", "at_ptr_name", "at_bbc_team", "mc_cid", "mc_eid",
    "ocid", "cmpid", "cmp", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oc", "ito", "smid",
    "wt.mc_id", "wt_mc_id", "spm", "guccounter", "guce_referrer", "guce_referrer_sig",
})
TRACKING_PREFIXES = ("utm_", "ns_", "pk_", "piwik_", "at_", "mtm_")
# Google News article links are opaque ids whose whole query (``?oc=5``) belongs to them.
OPAQUE_QUERY_HOSTS = frozenset({"news.google.com"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters no host name may hold (WHATWG "forbidden host code points", spaces and controls).
_BAD_HOST = re.compile(r"[\x00-\x20\x7f#%/<>?@\[\\\]^|]")


def _is_tracking(name: str) -> bool:
    key = unquote(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _split_params(query: str) -> list[str]:
    """Non-empty parameters of ``query``, each freed of the ``amp;`` that an HTML-escaped
    separator (``&amp;``, ``&amp;amp;``) leaves: "a=1&amp;utm_source=x" gives a=1, utm_source=x."""
    params = []
    for param in query.split("&"):
        while param[:4].lower() == "amp;":
            param = param[4:]
        if param:
            params.append(param)
    return params


def _clean_query(query: str) -> str:
    """Drop tracking parameters; sort the rest by name (stable, so the normaliser's order of
    repeated names stays)."""
    kept = [p for p in _split_params(query) if not _is_tracking(p.split("=", 1)[0])]
    kept.sort(key=lambda p: p.split("=", 1)[0])
    return "&".join(kept)


def _netloc(parts: SplitResult, host: str) -> str:
    """``host`` (IPv6 in brackets), a port only when it is not the scheme's default, userinfo
    kept. ``host`` is ``parts.hostname``, read once: each read parses the netloc again."""
    if ":" in host:                                 # IPv6 literal
        host = f"[{host}]"
    else:
        # Empty labels dropped ("a..b"), also those IDNA makes of a "\u2024" (one dot leader).
        if ".." in host or host[:1] == "." or host[-1:] == ".":
            host = ".".join(label for label in host.split(".") if label)
        if not host or not host.isascii() or _BAD_HOST.search(host):   # IDNA refused it
            raise ValueError(f"not a host name: {host!r}")
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    return netloc


def canonical_url(url: str) -> str:
    """One canonical spelling of ``url``, so copies of a link compare equal.

    w3lib's ``canonicalize_url`` (Scrapy's request fingerprints) does the RFC 3986 work: IDN
    host to punycode (``bücher.de`` → ``xn--bcher-kva.de``), dot segments resolved (also
    escaped ones), percent-encoding in upper case and only where needed (``café``,
    ``caf%c3%a9`` → ``caf%C3%A9``), query re-encoded (a space is ``+``, a bare ``m`` is
    ``m=``) and sorted by name then value. Around it: text in NFC first, no fragment, lower-case
    host, no default port, ``&amp;`` separators decoded, our tracking parameters dropped, and a
    Google News link's opaque query kept exactly as it came.

    Non-HTTP(S) or unparsable input (a bad port, a host with a space) is returned stripped but
    otherwise unchanged. bench/canonical_url.py measures it against url-normalize.
    """
    return canonical_url_with(url, canonicalize_url)


def canonical_url_with(url: str, normalise: Callable[[str], str | None]) -> str:
    """:func:`canonical_url` on top of another normaliser (the bench compares libraries)."""
    url = url.strip()
    try:
        # NFC: "café" typed with a combining accent is the same link as with a precomposed "é".
        parts = urlsplit(url if url.isascii() else unicodedata.normalize("NFC", url))
        host = parts.hostname
        if parts.scheme.lower() not in DEFAULT_PORTS or not host:
            return url
        opaque = host.rstrip(".") in OPAQUE_QUERY_HOSTS
        query = parts.query
        if not opaque and "amp;" in query.lower():
            query = "&".join(_split_params(query))
        # The fragment goes first: dropping it can expose trailing spaces ("https://e.org/ #top").
        base = urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")).strip()
        out = urlsplit(normalise(base) or "")
        host = out.hostname
        if out.scheme not in DEFAULT_PORTS or not host:
            return url
        netloc = _netloc(out, host)
    except (ValueError, UnicodeError):
        return url
    query = parts.query.strip() if opaque else _clean_query(out.query)
    return urlunsplit((out.scheme, netloc, out.path or "/", query, ""))


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host (javascript:, data:, mailto: are not)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.netloc)


# -- characters --------------------------------------------------------------------------------

# Every Unicode space separator, tab/newline and friends become a plain space.
_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Invisible characters with no meaning in a headline (ZWJ/ZWNJ are kept: emoji and scripts).
_DROP_CHARS = "\x00\u00ad\u180e\u200b\u2060\ufeff\ufffe"
# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI) reorder the text
# that follows them up to the end of the line: in "Invoice \u202egpj.exe" an RLO makes the rest
# display as "exe.jpg", and an unclosed one leaks into whatever a digest prints after the title.
# They are dropped. The marks LRM, RLM and ALM (U+200E, U+200F, U+061C) are kept: they only set the
# direction of neighbouring neutral characters, and real Arabic and Hebrew headlines use them.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _c1_to_cp1252(code: int) -> str:
    """A C1 control usually means windows-1252 bytes decoded as ISO-8859-1 (\\x92 → ’)."""
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:
        return ""


_CHAR_MAP: dict[int, str] = {ord(c): " " for c in _SPACE_CHARS}
_CHAR_MAP.update({ord(c): "" for c in _DROP_CHARS + _BIDI_CONTROLS})
_CHAR_MAP.update({c: "" for c in range(0x20) if chr(c) not in _SPACE_CHARS})
_CHAR_MAP[0x7F] = ""
_CHAR_MAP.update({c: _c1_to_cp1252(c) for c in range(0x80, 0xA0) if c != 0x85})

_MULTI_SPACE = re.compile(r" {2,}")


def normalize_spaces(text: str) -> str:
    """One line: odd spaces → space, invisible/control characters dropped, runs collapsed."""
    return _MULTI_SPACE.sub(" ", text.translate(_CHAR_MAP)).strip()


def _normalize_line(line: str) -> str:
    return normalize_spaces(line)


# -- HTML to text ------------------------------------------------------------------------------

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "thead", "tfoot", "tr", "ul", "caption", "center",
})
CELL_TAGS = frozenset({"td", "th"})
_BREAK = "\u2029"
SKIP_TAGS = ["script", "style", "noscript", "template", "head", "iframe", "object", "svg", "math",
             "select", "button"]


def cut_before_tag(html: str, n: int) -> str:
    """``html`` cut just before its ``n``-th "<" (whole when it has fewer): HTML tree building
    is quadratic in nesting depth, so every parse of untrusted HTML is bounded by this first."""
    pos = -1
    for _ in range(n):
        pos = html.find("<", pos + 1)
        if pos < 0:
            return html
    return html[:pos]


def _bounded_html(html: str) -> str:
    """Cut ``html`` so the parser sees at most MAX_HTML_CHARS characters and fewer than
    MAX_HTML_TAGS tags."""
    return cut_before_tag(html[:MAX_HTML_CHARS], MAX_HTML_TAGS)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one line per block element, entities decoded, scripts and
    styles dropped, whitespace collapsed inside each line, empty lines removed.

    Uses an iterative walk (no recursion), so deeply nested markup is safe; the input is bounded
    first (see MAX_HTML_TAGS).
    """
    if not html or not html.strip():
        return ""
    if "<" not in html and "&" not in html:
        return "\n".join(filter(None, (_normalize_line(x) for x in html.splitlines())))
    tree = LexborHTMLParser(_bounded_html(html))
    tree.strip_tags(SKIP_TAGS)
    root = tree.body if tree.body is not None else tree.root
    if root is None:
        return ""
    chunks: list[str] = []
    for node in root.traverse(include_text=True):
        tag = node.tag
        if tag == "-text":
            # newlines in source text are ordinary whitespace in HTML; our own block-end markers
            # (inserted below) are U+2029, the Unicode paragraph separator
            chunks.append((node.text_content or "").replace("\r", " ").replace("\n", " "))
        elif tag in BLOCK_TAGS:
            chunks.append(_BREAK)
            if tag != "br":
                node.insert_after(_BREAK)      # the walk meets it right after the block's content
        elif tag in CELL_TAGS or tag == "img":
            chunks.append(" ")
    lines = (_normalize_line(line) for line in "".join(chunks).split(_BREAK))
    return "\n".join(line for line in lines if line)


def _strip_markup(text: str) -> str:
    """Titles: parse only when there is something that looks like a tag, else just unescape."""
    if "<" in text and re.search(r"<[A-Za-z/!?]", text):
        return " ".join(html_to_text(text).split("\n"))
    return html_lib.unescape(text) if "&" in text else text


# -- titles ------------------------------------------------------------------------------------

# Upper-case rubric words that outlets put in front of headlines; an optional upper-case outlet
# name may follow ("INFO FRANCEINFO.", "ENQUÊTE FRANCEINFO."). Case-sensitive on purpose: "Vidéo
# de la semaine : …" is a headline, "VIDÉO. …" is a rubric.
RUBRIC_WORDS = (
    r"EN IMAGES?", r"EN VID[ÉE]O", r"EN DIRECT", r"EN PHOTOS?", r"EN CARTES?", r"VID[ÉE]OS?",
    r"PHOTOS?", r"IMAGES?", r"DIRECT", r"LIVE", r"INFO", r"INFOS", r"EXCLUSIF", r"EXCLUSIVE",
    r"ENQU[ÊE]TE", r"R[ÉE]CIT", r"REPORTAGE", r"T[ÉE]MOIGNAGES?", r"VRAI OU FAUX", r"ENTRETIEN",
    r"INTERVIEW", r"D[ÉE]CRYPTAGE", r"ANALYSE", r"TRIBUNE", r"[ÉE]DITO", r"CHRONIQUE",
    r"PORTRAIT", r"INFOGRAPHIE", r"CARTE", r"ALERTE", r"FLASH", r"BREAKING(?: NEWS)?", r"UPDATE",
    r"UPDATED", r"WATCH", r"LISTEN", r"PODCAST", r"OPINION", r"FACT CHECK", r"ANALYSIS",
    r"R[ÉE]V[ÉE]LATIONS?", r"DOCUMENT", r"QUESTION", r"ZOOM", r"BILLET", r"SONDAGE",
)
_UPPER_WORD = r"[A-Z0-9ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ'’-]+"
_RUBRIC_RE = re.compile(
    r"^(?:" + "|".join(RUBRIC_WORDS) + r")(?: " + _UPPER_WORD + r"){0,2}"
    r"\s*(?:[.:|•]|\s[-–—])\s+"
)
_TITLE_SEPARATOR = r"\s*(?:[.:|•,]|\s[-–—])\s+"


def _strip_prefixes(title: str, patterns: Iterable[re.Pattern[str]]) -> str:
    """Remove rubric prefixes (a few in a row, "INFO FRANCEINFO. VIDÉO. …"); never empty a title."""
    for _ in range(3):
        for pattern in patterns:
            match = pattern.match(title)
            if match and match.end() < len(title):
                title = title[match.end():].lstrip()
                break
        else:
            return title
    return title


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rstrip()
    return cut[:-1] + "…" if cut else cut


def clean_title(raw: str) -> str:
    """A headline on one clean line (see module docstring), rubric prefixes removed."""
    return Cleaner.default().title(raw)


# -- publisher suffix --------------------------------------------------------------------------


def clean_publisher(name: str) -> str:
    """A publisher name as shown: spaces normalised, stray trailing separators ("San Juan
    Record |") removed."""
    return normalize_spaces(name).rstrip(" |-–—•:").strip()


def split_publisher_suffix(title: str, publisher: str) -> str:
    """Remove a trailing " - Publisher" (Google News style) from ``title``.

    Compared with the exact ``<source>`` text first, then with its cleaned form, case-insensitive
    and space-normalised: "X - San Juan Record |" and "X - Crude Oil Prices Today | OilPrice.com"
    both become "X". A title that is only the publisher is left alone.
    """
    if not publisher:
        return title
    title_n = normalize_spaces(title)
    for name in dict.fromkeys((normalize_spaces(publisher), clean_publisher(publisher))):
        if not name:
            continue
        for sep in (" - ", " – ", " — ", " | "):
            suffix = sep + name
            if len(title_n) > len(suffix) and title_n.lower().endswith(suffix.lower()):
                return title_n[: -len(suffix)].rstrip()
    return title_n


# -- boilerplate -------------------------------------------------------------------------------

# Whole lines (after whitespace normalisation), matched case-insensitively.
DEFAULT_BOILERPLATE: tuple[str, ...] = (
    r"t[ée]l[ée]charge[zr] (?:le|ce|l'|l’)\s*(?:pdf|article|fichier).{0,40}",
    r"ajouter(?: [àa] (?:mes|vos) (?:favoris|articles|s[ée]lections?))?",
    r"article ajout[ée].{0,40}",
    r"(?:for latest updates )?follow us on (?:google news|twitter|x|facebook|instagram|telegram"
    r"|whatsapp|linkedin)\b.{0,40}",
    r"suivez[- ]nous sur .{0,60}",
    r"the post .{1,400} appeared first on .{1,200}",
    r"l['’]article .{1,400} est apparu en premier sur .{1,200}",
    r"(?:[àa] )?lire (?:aussi|[ée]galement|la suite)\b.{0,300}",
    r"voir aussi\b.{0,300}",
    r"read (?:more|also|the full (?:story|article))\b.{0,300}",
    r"continue reading\b.{0,300}",
    r"(?:partager|partagez)(?: (?:sur|cet article|l['’]article).{0,60})?",
    r"share(?: this(?: article| story| post)?| on \w+)?:?",
    r"(?:tweet|email|print|imprimer|copier le lien|copy link)",
    r"(?:publicit[ée]|advertisement|annonce|sponsored)",
    r"abonnez-vous\b.{0,120}",
    r"subscribe (?:to|now)\b.{0,120}",
    r"sign up for .{0,80}newsletter.{0,80}",
    r"inscrivez-vous .{0,80}newsletter.{0,80}",
    r"click here to .{0,120}",
    r"cliquez ici .{0,120}",
)


_GLOBAL_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")


def _split_flags(pattern: str) -> tuple[str, str]:
    """("(?i)", "rest") for a pattern starting with global inline flags, else ("", pattern)."""
    match = _GLOBAL_FLAGS.match(pattern)
    return (match.group(0), pattern[match.end():]) if match else ("", pattern)


def _line_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    """Whole-line matcher for ``patterns`` (case-insensitive, optional final punctuation).

    Only one pattern may carry leading inline flags ("(?i)..."): they are moved to the front.
    """
    flags, bodies = "", []
    for pattern in patterns:
        own, body = _split_flags(pattern)
        flags, bodies = flags + own, [*bodies, body]
    return re.compile(
        flags + r"(?:" + "|".join(f"(?:{b})" for b in bodies) + r")\s*[.!…]?", re.IGNORECASE
    )


def _prefix_regex(pattern: str) -> re.Pattern[str]:
    flags, body = _split_flags(pattern)
    return re.compile(flags + r"^(?:" + body + r")" + _TITLE_SEPARATOR, re.IGNORECASE)


class Cleaner:
    """Title and summary cleaning with the boilerplate patterns compiled once.

    ``extra_patterns`` (from ``config.cleaning.extra_boilerplate``) are regexes matched
    case-insensitively against whole summary lines and, followed by a separator, as title
    prefixes. Invalid regexes raise ``re.error`` (the config loader validates them first).
    """

    _default: Cleaner | None = None

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        extras = tuple(p for p in extra_patterns if p)
        self.patterns: tuple[str, ...] = DEFAULT_BOILERPLATE + extras
        # The defaults are one alternation; each extra pattern is compiled on its own, so a
        # pattern that is valid alone (a leading "(?i)", a named group) cannot break the others.
        self._line_res = (_line_regex(DEFAULT_BOILERPLATE),) + tuple(_line_regex((p,)) for p in extras)
        self._prefix_res = (_RUBRIC_RE,) + tuple(_prefix_regex(p) for p in extras)

    def _is_boilerplate_line(self, line: str) -> bool:
        return any(regex.fullmatch(line) for regex in self._line_res)

    @classmethod
    def default(cls) -> Cleaner:
        """A shared Cleaner with the default patterns only (immutable once built)."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def is_boilerplate(self, line: str) -> bool:
        """True when the whole (normalised) line is republisher boilerplate."""
        return self._is_boilerplate_line(normalize_spaces(line))

    def title(self, raw: str) -> str:
        """Clean headline: entities, tags, odd spaces, controls, rubric prefixes; capped length."""
        if not raw:
            return ""
        text = normalize_spaces(_strip_markup(raw[: MAX_TITLE_CHARS * 4]))
        text = _strip_prefixes(text, self._prefix_res)
        return _cap(text, MAX_TITLE_CHARS)

    def summary(self, raw_html: str) -> str:
        """Plain-text summary: HTML converted, boilerplate lines dropped, length capped."""
        if not raw_html:
            return ""
        lines = html_to_text(raw_html).split("\n")
        kept = [line for line in lines if line and not self._is_boilerplate_line(line)]
        return _cap("\n".join(kept), MAX_SUMMARY_CHARS)
