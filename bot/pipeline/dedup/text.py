"""Text folding and tokenising shared by every dedup layer (pure, French and English).

Folding: NFKC, typographic quotes/dashes/spaces made plain, accents removed, case folded.
Tokens: words of the folded text, French elisions (l', d', qu'...) split off, numbers glued
back when written with a thin/no-break thousands separator ("10 000" -> "10000").
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache, wraps
from typing import Any

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u02bc": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2039": '"',
    "\u203a": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u2007": " ", "\u200b": "",
    "\u2026": "...",
    "\u0153": "oe", "\u0152": "OE", "\u00e6": "ae", "\u00c6": "AE",
})

_BACKTICK_ONLY = {k: v for k, v in _QUOTES.items() if k < 128} == {ord("`"): "'"}

# "10 000", "3 000": thousands written with a (no-break) space.
_THOUSANDS = re.compile(r"(?<=\d)[ .,](?=\d{3}\b)")
_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)?", re.UNICODE)
_ELISION = re.compile(
    r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)'(?=\w)", re.IGNORECASE
)

# The text-keyed caches hold titles only: a cached 20,000-character summary (and its tuple of
# words) costs tens of KB, and tens of thousands of them filled ~300 MB in the soak run. Summaries
# are tokenised once per article instead (the derived values live on bounded ``Doc`` caches).
SHORT_TEXT = 300
TEXT_CACHE_SIZE = 2048


def cached_when_short(maxsize: int = TEXT_CACHE_SIZE, limit: int = SHORT_TEXT
                      ) -> Callable[[Callable[[str], Any]], Any]:
    """Like ``lru_cache(maxsize)`` for a one-string function, but texts longer than ``limit``
    characters are computed without being cached, so the cache's size is bounded in bytes too."""
    def decorate(fn: Callable[[str], Any]) -> Any:
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def wrapper(text: str) -> Any:
            return cached(text) if len(text) <= limit else fn(text)

        wrapper.cache_clear = cached.cache_clear    # type: ignore[attr-defined]
        wrapper.cache_info = cached.cache_info      # type: ignore[attr-defined]
        return wrapper
    return decorate


def fold(text: str) -> str:
    """Plain, accent-less, case-folded text (quotes, dashes and odd spaces made ASCII)."""
    return plain(text).casefold()


def plain(text: str) -> str:
    """Like :func:`fold` but keeping case (to spot capitalised names)."""
    if text.isascii():
        # NFKC/NFKD leave ASCII as it is and it holds no combining marks: only the quote table
        # can change it, and its one ASCII entry is "`". The common case, and much cheaper.
        if _BACKTICK_ONLY:
            return text.replace("`", "'") if "`" in text else text
        return text.translate(_QUOTES)
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).translate(_QUOTES))
    return text if text.isascii() else text.translate(_combining_marks())


@cache
def _combining_marks() -> dict[int, None]:
    """str.translate table deleting every combining mark (what ``unicodedata.combining`` flags):
    the same result as filtering character by character, in C."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))}


_STOP_TEXT = """
    a an and are as at be been but by for from has have he her his how i in into is it its
    more new no not of on or our over says said say she so than that the their them there
    they this to up us was we were what when which who why will with would you after amid
    about against all also can could may might must should after before between during
    out off under until via vs while just now then still top yet ahead back
    au aux avec ce ces cette contre dans de des du elle en est et il ils la le les leur
    leurs lui mais ne nous on ou par pas plus pour qu que qui sa se ses son sont sur un une
    vers y a été etre être fait face selon apres après avant entre sans sous tout tous
    toute toutes deja déjà encore comme dont ou où si aussi ont va vont quand chez nouveau
    nouvelle nouveaux again
    monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi
    vendredi samedi dimanche january february march april june july august september october
    november december janvier fevrier mars avril mai juin juillet aout septembre octobre
    novembre decembre
    """
STOPWORDS = frozenset(fold(w) for w in _STOP_TEXT.split())


def _raw_words(text: str) -> list[str]:
    text = _ELISION.sub(" ", text)
    text = _THOUSANDS.sub("", text)
    return _WORD.findall(text)


@cached_when_short()
def words(text: str) -> tuple[str, ...]:
    """Every folded word of ``text`` in order (stopwords kept: used for shingles and keys)."""
    return tuple(w.replace(",", ".") for w in _raw_words(fold(text)))


def content_words(text: str) -> tuple[str, ...]:
    """Folded words without stopwords and one-letter noise, in order."""
    return tuple(w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


def is_number(token: str) -> bool:
    return token[:1].isdigit()


def numbers(text: str) -> frozenset[str]:
    """Numbers in the text ("5", "10000", "6.2"); years and counts alike."""
    return frozenset(w for w in words(text) if is_number(w))


@cached_when_short()
def capitalised(text: str) -> frozenset[str]:
    """Folded tokens written with a capital (or all caps) somewhere but not only sentence-first.

    A cheap named-entity detector that works for both languages: "Kharkiv", "Odesa", "Kursk",
    "Sbarro", "OTAN". The first word of the text counts only if it is all caps or appears
    capitalised again later, because headlines start with a capital anyway.
    """
    raw = _raw_words(plain(text))
    found: set[str] = set()
    for i, w in enumerate(raw):
        if not w[:1].isupper() or is_number(w):
            continue
        token = w.casefold().replace(",", ".")
        if token in STOPWORDS:
            continue
        if i == 0 and not (w.isupper() and len(w) > 1):
            continue
        # A Title Case Headline capitalises every word: only keep words that are rare-looking
        # (the caller weights them by IDF anyway).
        found.add(token)
    if is_title_case(text):
        # Title Case headline: capitals carry no information, fall back to nothing.
        return frozenset(t for t in found if any(w.isupper() and len(w) > 1 and w.casefold() == t
                                                 for w in raw))
    return frozenset(found)


@cached_when_short()
def capital_words(text: str) -> frozenset[str]:
    """Folded tokens written with a capital, the first word included ("Groix. La doyenne...",
    "Météo Lorient : ..."): the slots of a templated headline."""
    return frozenset(w.casefold().replace(",", ".") for w in _raw_words(plain(text)) if w[:1].isupper())


@cached_when_short()
def lowercase_words(text: str) -> frozenset[str]:
    """Folded tokens written all in lower case in ``text``: ordinary words, not names."""
    return frozenset(w.casefold() for w in _raw_words(plain(text)) if w.islower())


_SUFFIXES = ("ations", "ation", "ements", "ement", "ings", "ing", "ies", "ied", "ers", "er", "ed",
             "es", "s", "x", "e")


# French/English names of the places and actors the news is about, folded: both languages (and
# both spellings) give one term, so "nord-coréens"/"North Korean"/"Corée du Nord" and
# "Koursk"/"Kursk" meet in clustering. Only names, never common words. Countries, their people
# and capitals are *topics* (many stories a day share them); cities and people name a story.
_TOPIC_GROUPS = {
    "russia": "russie russe russes russia russian russians",
    "korea": "coree coreen coreens coreenne coreennes korea korean koreans",
    "ukraine": "ukraine ukrainien ukrainiens ukrainienne ukrainiennes ukrainian ukrainians",
    "kyiv": "kyiv kiev", "moscow": "moscow moscou", "beijing": "beijing pekin",
    "brussels": "brussels bruxelles", "london": "london londres",
    "china": "chine chinois chinoise chinoises china chinese",
    "israel": "israel israelien israeliens israelienne israeliennes israeli israelis",
    "iran": "iran iranien iraniens iranienne iraniennes iranian iranians",
    "lebanon": "liban libanais libanaise lebanon lebanese",
    "syria": "syrie syrien syriens syrienne syria syrian syrians",
    "turkey": "turquie turc turcs turque turkey turkish",
    "europe": "europe europeen europeens europeenne europeennes european europeans ue eu",
    "germany": "allemagne allemand allemands allemande germany german germans",
    "japan": "japon japonais japonaise japan japanese",
    "spain": "espagne espagnol espagnols espagnole spain spanish",
    "italy": "italie italien italiens italienne italy italian italians",
    "poland": "pologne polonais polonaise poland polish",
    "india": "inde indien indiens indienne india indian indians",
    "moldova": "moldavie moldova moldovan", "georgia": "georgie georgia georgian",
    "africa": "afrique africain africains africaine africa african",
    "nato": "otan nato",
    "america": "america american americans americain americains americaine americaines",
    "britain": "britain british britannique britanniques uk",
    "mexico": "mexique mexicain mexicains mexicaine mexico mexican mexicans",
    "brazil": "bresil bresilien bresiliens bresilienne brazil brazilian brazilians",
    "egypt": "egypte egyptien egyptiens egyptienne egypt egyptian egyptians",
    "greece": "grece grec grecs grecque greece greek greeks",
    "belgium": "belgique belge belges belgium belgian belgians",
    "switzerland": "suisse suisses switzerland swiss",
    "netherlands": "netherlands dutch neerlandais neerlandaise",
    "sweden": "suede suedois suedoise sweden swedish",
    "hungary": "hongrie hongrois hongroise hungary hungarian",
    "romania": "roumanie roumain roumains roumaine romania romanian",
    "serbia": "serbie serbe serbes serbia serbian",
    "algeria": "algerie algerien algeriens algerienne algeria algerian",
    "morocco": "maroc marocain marocains marocaine morocco moroccan",
    "argentina": "argentine argentin argentins argentina argentinian",
    "austria": "autriche autrichien autrichienne austria austrian",
    "peru": "perou peruvien peruviens peruvienne peru peruvian peruvians",
    "chile": "chili chilien chiliens chilienne chile chilean chileans",
    "colombia": "colombie colombien colombiens colombienne colombia colombian colombians",
    "venezuela": "venezuela venezuelien venezueliens venezuelan venezuelans",
    "cuba": "cuba cubain cubains cubaine cuban cubans",
    "haiti": "haiti haitien haitiens haitian haitians",
    "canada": "canada canadien canadiens canadienne canadian canadians",
    "australia": "australie australien australiens australienne australia australian australians",
    "portugal": "portugal portugais portugaise portuguese",
    "ireland": "irlande irlandais irlandaise ireland irish",
    "norway": "norvege norvegien norvegienne norway norwegian",
    "denmark": "danemark danois danoise denmark danish",
    "finland": "finlande finlandais finlandaise finland finnish",
    "czechia": "tcheque tcheques czech czechia",
    "bulgaria": "bulgarie bulgare bulgares bulgaria bulgarian",
    "croatia": "croatie croate croates croatia croatian",
    "belarus": "bielorussie bielorusse belarus belarusian",
    "armenia": "armenie armenien armeniens armenia armenian",
    "azerbaijan": "azerbaidjan azerbaijan azerbaijani azeri",
    "kazakhstan": "kazakhstan kazakh",
    "iraq": "irak irakien irakiens iraq iraqi iraqis",
    "afghanistan": "afghanistan afghan afghans",
    "pakistan": "pakistan pakistanais pakistani",
    "bangladesh": "bangladesh bangladais bangladeshi",
    "indonesia": "indonesie indonesien indonesiens indonesia indonesian",
    "philippines": "philippines philippin philippins philippine filipino",
    "vietnam": "vietnam vietnamien vietnamiens vietnamese",
    "thailand": "thailande thailandais thailand thai",
    "taiwan": "taiwan taiwanais taiwanese",
    "saudi": "saoudite saoudien saoudiens saudi saudis",
    "qatar": "qatar qatari qataris",
    "yemen": "yemen yemenite yemeni",
    "libya": "libye libyen libyens libya libyan",
    "tunisia": "tunisie tunisien tunisiens tunisia tunisian",
    "nigeria": "nigeria nigerian nigerians nigerien",
    "kenya": "kenya kenyan kenyans",
    "ethiopia": "ethiopie ethiopien ethiopia ethiopian",
    "sudan": "soudan soudanais sudan sudanese",
    "congo": "congo congolais congolese rdc drc",
    "cameroon": "cameroun camerounais cameroon cameroonian",
    "senegal": "senegal senegalais senegalese",
    "mali": "mali malien maliens malian",
    "mozambique": "mozambique mozambicain mozambican",
    "palestine": "palestine palestinien palestiniens palestinienne palestinian palestinians",
}
# Common words in both languages (not names): aliased, neither topic nor story.
_WORD_GROUPS = {
    "north": "nord north", "south": "sud south",
    "troops": "troupes troupe troops soldats soldat soldiers soldier",
    "war": "guerre guerres war wars", "quake": "seisme seismes earthquake earthquakes quake",
    "flood": "inondation inondations flood floods", "summit": "sommet sommets summit summits",
    "attack": "attaque attaques attack attacks", "deal": "accord accords deal agreement",
    "ceasefire": "cessez ceasefire truce treve", "vote": "vote votes scrutin ballot",
}
_NAME_GROUPS = {
    "kursk": "kursk koursk", "kharkiv": "kharkiv kharkov", "odesa": "odesa odessa",
    "putin": "putin poutine", "zelensky": "zelensky zelenski zelenskyy zelenskiy",
    "netanyahu": "netanyahu netanyahou", "ecb": "bce ecb",
}
ALIASES = {word: name for groups in (_TOPIC_GROUPS, _NAME_GROUPS, _WORD_GROUPS)
           for name, group in groups.items() for word in group.split()}
TOPIC_NAMES = frozenset(_TOPIC_GROUPS)
WORD_NAMES = frozenset(_WORD_GROUPS)


@lru_cache(maxsize=16384)
def stem(token: str) -> str:
    """A light stemmer for both languages: one common suffix off, then cut to six letters.

    Truncation stemming is crude but language-agnostic and measurably helps headline matching
    ("bankruptcy"/"bankrupt", "troupes"/"troupe", "tapering"/"taper"). Numbers are kept whole.
    """
    if token in ALIASES:
        return ALIASES[token]
    if token[:1].isdigit() or len(token) <= 4:
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            token = token[: -len(suffix)]
            break
    return token[:6]


@cached_when_short()
def is_title_case(text: str) -> bool:
    """A Title Case Headline (most words capitalised): capitals then say nothing about names."""
    raw = [w for w in _raw_words(plain(text)) if not is_number(w)]
    return len(raw) >= 3 and sum(1 for w in raw if w[:1].isupper()) >= 0.7 * len(raw)
