"""Title normalisation keys, text folding and the fuzzy-title rule (pure, French and English)."""

from __future__ import annotations

import pytest

from bot.pipeline.dedup.keys import clean_title, source_key, title_key
from bot.pipeline.dedup.similarity import Doc, Idf, same_headline
from bot.pipeline.dedup.text import capitalised, fold, stem, words

SAME_FR = [
    ("Guerre en Ukraine : l’armée russe revendique la prise d’un village",
     "Guerre en Ukraine : l'armée russe revendique la prise d'un village"),
    ("EN DIRECT - Guerre en Ukraine : l’armée russe revendique la prise d’un village",
     "Guerre en Ukraine : l’armée russe revendique la prise d’un village"),
    ("VIDÉO. Corée du Nord : « 10 000 soldats » déjà envoyés en Russie, selon Séoul",
     "Corée du Nord : \"10 000 soldats\" déjà envoyés en Russie, selon Séoul"),
    ("INFO FRANCEINFO. Budget : Michel Barnier va recourir au 49.3",
     "Budget : Michel Barnier va recourir au 49.3"),
    ("Corée du Nord : des troupes envoyées en Russie - Le Monde",
     "CORÉE DU NORD : DES TROUPES ENVOYÉES EN RUSSIE"),
    ("EN DIRECT. VIDÉO. Inondations à Valence : le bilan s’alourdit",
     "Inondations à Valence : le bilan s'alourdit"),
    ("Guerre en Ukraine : une frappe russe sur le port d’Odessa fait cinq morts",
     "Une frappe russe sur le port d'Odessa fait cinq morts"),
]
SAME_EN = [
    ("UPDATE: Russian strike on Kharkiv kills 5, injures dozens",
     "Russian strike on Kharkiv kills 5, injures dozens"),
    ("UPDATE 2-EU deals blow to two big Russian gas pipeline projects",
     "EU deals blow to two big Russian gas pipeline projects"),
    ("Fed holds rates steady as inflation cools - Reuters", "Fed holds rates steady as inflation cools"),
    ("LIVE: Harris makes closing argument at the Ellipse | CNN",
     "Harris makes closing argument at the Ellipse"),
    ("Fed’s Plosser: taper pace may be too slow", "Fed's Plosser - Taper Pace May Be Too Slow"),
]
DIFFERENT = [
    ("Russian strike on Kharkiv kills 5", "Russian strike on Odesa kills 5"),
    ("Une frappe russe sur Kharkiv fait cinq morts", "Une frappe russe sur Odessa fait cinq morts"),
    ("Magnitude 6.1 earthquake shakes southern Japan", "Magnitude 5.4 earthquake shakes southern Japan"),
    ("North Korea fires ballistic missile, Japan says", "North Korea fires ballistic missile, Seoul says"),
]


@pytest.mark.parametrize(("a", "b"), SAME_FR + SAME_EN)
def test_decorated_headlines_share_a_key(a: str, b: str) -> None:
    source = "Le Monde" if "Le Monde" in a else "Reuters" if "Reuters" in a else "CNN"
    assert title_key(a, source) == title_key(b, source)
    assert title_key(a, source) is not None


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_stories_have_different_keys(a: str, b: str) -> None:
    assert title_key(a) != title_key(b)


def test_publisher_suffix_removed_only_when_it_names_the_source() -> None:
    assert clean_title("Troops reach Kursk - Reuters", "Reuters") == "troops reach kursk"
    # "- traders" is part of the headline, not a publisher: kept.
    assert clean_title("ECB unlikely to end sterilisation - traders", "Reuters").endswith("traders")
    assert clean_title("Inflation : la BCE baisse ses taux - Le Monde.fr", "Le Monde") == \
        "inflation : la bce baisse ses taux"


def test_french_elisions_quotes_and_numbers() -> None:
    assert words("L’armée d’Israël qu’elle soutient") == ("armee", "israel", "elle", "soutient")
    assert "10000" in words("environ 10 000 soldats")        # no-break space thousands
    assert "10000" in words("environ 10\u202f000 soldats")
    assert fold("« Œuvre » — Été") == '" oeuvre " - ete'


def test_short_or_empty_titles_have_no_key() -> None:
    assert title_key("Live updates") is None
    assert title_key("") is None
    assert title_key("VIDÉO.") is None


def test_source_keys() -> None:
    assert source_key("Le Monde.fr - International") == source_key("lemonde.fr") == source_key("Le Monde")
    assert source_key("BBC News | World") == "bbcnews"
    assert source_key("Reuters") != source_key("Reuters India")


def test_capitalised_names_and_stems() -> None:
    assert capitalised("Russian strike on Kharkiv kills 5") >= {"kharkiv"}
    assert "russian" not in capitalised("Russian strike on Kharkiv kills 5")   # headline's first word
    # Title Case: capitals say nothing, only acronyms count.
    assert capitalised("EU Deals Blow To Two Big Russian Gas Pipeline Projects") == {"eu"}
    assert stem("troupes") == stem("troupe")
    assert stem("bankruptcy")[:6] == stem("bankrupt")[:6]
    assert stem("2024") == "2024"


def _idf() -> Idf:
    return Idf({"russian": 40, "strike": 30, "kills": 25}, docs=1000)


def test_fuzzy_headline_edit_is_the_same_headline() -> None:
    a = Doc(1, "Zelensky says North Korean troops are in Kursk")
    b = Doc(2, "Zelensky says North Korean troops now in Kursk")
    assert same_headline(a, b, _idf())


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_templated_headlines_are_not_the_same(a: str, b: str) -> None:
    assert not same_headline(Doc(1, a), Doc(2, b), _idf())
