"""The story decision (bot/pipeline/dedup/story.py), pure: hand-built stories against the fitted model.

Document frequencies come from a background of realistic headlines (templates and town names
repeat across a day's regional news; a sports event's generic words repeat across its
sub-events), so IDF says what is generic as it would on a real stream.
"""

from __future__ import annotations

import itertools

import pytest

from bot.pipeline.dedup.similarity import Doc, Idf
from bot.pipeline.dedup.story import (
    FEATURES,
    MODEL,
    POOL,
    RECENT,
    WINDOW,
    Story,
    candidate_clusters,
    compared_members,
    decide,
    features,
)

T = 1_760_000_000.0
HOUR = 3600.0

TOWNS = ["Lorient", "Groix", "Quimper", "Vannes", "Brest", "Morlaix", "Auray", "Pontivy", "Redon",
         "Lannion", "Carhaix", "Concarneau", "Ploërmel", "Guingamp", "Dinan", "Fougères"]
LOCAL = ["Un nouveau marché bio s'installe", "La mairie lance une consultation",
         "Le festival annonce sa date",
         "Travaux sur la route départementale", "Une exposition de photographies à la médiathèque",
         "Le club de foot recrute des bénévoles", "Collecte de sang ce week-end"]
SPORT = ["Judo : {a} bat {b} en finale", "Basket : {a} domine {b} en poule",
         "JO 2024 : {a} qualifié face à {b}",
         "Natation : {a} devance {b} en demi-finale"]
ATHLETES = ["Riner", "Agbégnénou", "Yoshida", "Kim", "Marchand", "Ledecky", "Wembanyama", "Jokic",
            "Doncic", "Curry", "Clerc", "Abe", "Cysique", "Gaba", "Buchard", "Tcheuméo"]


def _background() -> list[str]:
    titles = []
    days = ["jeudi 4 décembre", "vendredi 5 décembre", "samedi 6 décembre"]
    for day, town in itertools.product(days, TOWNS):
        titles.append(f"Météo {town} : prévisions du {day}")
    for town, local in itertools.product(TOWNS, LOCAL):
        titles.append(f"{town}. {local}")
    for template, (a, b) in itertools.product(SPORT, itertools.combinations(ATHLETES, 2)):
        titles.append(template.format(a=a, b=b))
    titles += ["North Korea fires missile into the sea", "Ukraine war: latest news",
               "Russie : les dernières infos", "Guerre en Ukraine : ce qu'il faut savoir",
               "Kursk region: Ukraine holds ground"]
    return titles


def _idf() -> Idf:
    df: dict[str, int] = {}
    titles = _background()
    for title in titles:
        for term in Doc(0, title).text_stems:
            df[term] = df.get(term, 0) + 1
    return Idf(df, len(titles))


IDF = _idf()
_ids = itertools.count(1)


def doc(title: str, hours: float = 0.0, source: str = "Ouest-France", summary: str = "") -> Doc:
    return Doc(next(_ids), title, source=source, summary=summary, published_at=T + hours * HOUR)


def centroid(members: list[Doc]) -> tuple[float, dict[str, int]]:
    """What the engine reads from dedup_cluster_terms: the squared norm and the term counts."""
    counts: dict[str, int] = {}
    for m in members:
        for t in m.title_stems:
            counts[t] = counts.get(t, 0) + 1
    return sum(c * c * IDF.squared(t) for t, c in counts.items()), counts


def story(cluster_id: int, *members: Doc) -> Story:
    """A story as the engine reads it: its recent originals, newest first, and its centroid."""
    newest_first = sorted(members, key=lambda m: -m.published_at)
    return Story(cluster_id, tuple(newest_first[:POOL]), 0, centroid(list(members)))


def joins(article: Doc, *stories: Story) -> int | None:
    return decide(article, list(stories), IDF, article.published_at + 60).cluster_id


# (what it shows, the story's members, the new article, joins?)
CASES = [
    ("two towns' weather stay apart",
     ["Météo Lorient : prévisions du jeudi 4 décembre"],
     "Météo Groix : prévisions du jeudi 4 décembre", False),
    ("a town's news never joins its weather through the town name",
     ["Météo Groix : prévisions du jeudi 4 décembre", "Météo Groix : prévisions du vendredi 5 décembre"],
     "Groix. La doyenne de l'île a fêté ses 103 ans", False),
    ("templated local headlines of two towns stay apart",
     ["Lorient. Un nouveau marché bio s'installe place Alsace-Lorraine"],
     "Quimper. Un nouveau marché bio s'installe place Saint-Corentin", False),
    ("two judo bouts of one event stay apart",
     ["Judo : Teddy Riner bat Kim Min-jong en finale des +100 kg",
      "JO 2024 : Teddy Riner champion olympique face au Coréen Kim Min-jong",
      "Teddy Riner décroche l'or des +100 kg contre Kim Min-jong"],
     "Judo : Clarisse Agbégnénou battue par Miku Takaichi en quart de finale des -63 kg", False),
    ("two basketball games of one tournament stay apart",
     ["Basket : la France de Wembanyama bat l'Allemagne 85-70 en poule",
      "JO 2024, basket : Wembanyama porte les Bleus face à l'Allemagne"],
     "Basket : la Serbie de Jokic domine le Soudan du Sud 96-85 en poule", False),
    ("the same bout told by another outlet joins",
     ["Judo : Teddy Riner bat Kim Min-jong en finale des +100 kg",
      "JO 2024 : Teddy Riner champion olympique face au Coréen Kim Min-jong"],
     "Teddy Riner sacré champion olympique des +100 kg face à Kim Min-jong", True),
    ("the seed story joins across French and English",
     ["North Korean troops deployed to Russia's Kursk region, Ukraine says",
      "Thousands of North Korean soldiers reach Kursk, Zelensky warns"],
     "Des soldats nord-coréens déployés dans la région de Koursk, selon Zelensky", True),
    ("and the other way round",
     ["Des soldats nord-coréens déployés dans la région de Koursk, selon Zelensky",
      "Koursk : des milliers de soldats nord-coréens arrivés, affirme Kiev"],
     "North Korean troops deployed to Russia's Kursk region, Zelensky says", True),
]


@pytest.mark.parametrize(("why", "members", "title", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decision_table(why: str, members: list[str], title: str, expected: bool) -> None:
    s = story(7, *(doc(t, hours=-2 + 0.1 * i, source=f"Outlet {i}") for i, t in enumerate(members)))
    decision = decide(doc(title, source="Other"), [s], IDF, T + 60)
    assert (decision.cluster_id == 7) is expected, (why, dict(zip(FEATURES, decision.features, strict=True)))
    if decision.features:                          # compared: recorded even when not joined
        assert decision.compared == 7


def test_a_closed_story_attracts_nothing() -> None:
    title = "Teddy Riner sacré champion olympique des +100 kg face à Kim Min-jong"
    still_open = story(3, doc(title, hours=-WINDOW / HOUR + 1))
    closed = story(3, doc(title, hours=-WINDOW / HOUR - 1))
    assert joins(doc(title), still_open) == 3
    decision = decide(doc(title), [closed], IDF, T)
    assert decision.compared is None and decision.cluster_id is None


def test_a_big_story_is_no_easier_to_join_than_a_small_one() -> None:
    """The same recent articles, but one story also has 60 older, varied ones: its centroid is a
    topic (judo at large), and an article about the same bout scores no higher against it."""
    recent = [doc(t, hours=-1 + i * 0.1) for i, t in enumerate([
        "Judo : Teddy Riner bat Kim Min-jong en finale des +100 kg",
        "JO 2024 : Teddy Riner champion olympique face à Kim Min-jong"])]
    history = [doc(SPORT[0].format(a=a, b=b), hours=-30) for a, b in itertools.combinations(ATHLETES, 2)][:60]
    small = Story(1, tuple(recent), 0, centroid(recent))
    big = Story(2, tuple(recent), 0, centroid(recent + history))
    article = doc("Teddy Riner sacré champion olympique face à Kim Min-jong")
    p_small = MODEL.probability(features(article, small, IDF, article.published_at))
    p_big = MODEL.probability(features(article, big, IDF, article.published_at))
    assert p_big <= p_small


def test_the_most_probable_story_wins_whatever_the_order() -> None:
    riner = story(4, doc("Judo : Teddy Riner bat Kim Min-jong en finale des +100 kg", hours=-1),
                  doc("JO 2024 : Teddy Riner champion olympique face à Kim Min-jong", hours=-0.5))
    weather = story(9, doc("Météo Lorient : prévisions du jeudi 4 décembre", hours=-1))
    article = doc("Teddy Riner sacré champion olympique face à Kim Min-jong")
    assert joins(article, riner, weather) == joins(article, weather, riner) == 4


def test_google_news_related_coverage_joins_across_languages() -> None:
    s = story(5, doc("Russian strike on Kharkiv kills 5, injures dozens", hours=-1))
    article = doc("Frappe russe meurtrière sur une ville ukrainienne", source="Google News")
    assert decide(article, [s], IDF, T + 60).cluster_id is None
    linked = Story(5, s.members, 1, s.centroid)
    assert decide(article, [linked], IDF, T + 60).cluster_id == 5


def test_candidates_rank_by_distinct_shared_words_not_postings() -> None:
    """A big cluster posting one word a hundred times ranks below a small one sharing two."""
    postings = [("judo", 1)] * 100 + [("judo", 2), ("riner", 2)]
    assert candidate_clusters(postings, IDF)[0] == 2


def test_model_is_a_probability_with_a_threshold_between_0_and_1() -> None:
    assert 0 < MODEL.threshold < 1
    assert len(MODEL.weights) == len(FEATURES)


def test_one_shared_word_never_carries_a_join() -> None:
    weather = story(2, doc("Météo Groix : prévisions du jeudi 4 décembre", hours=-1))
    decision = decide(doc("Groix. La doyenne de l'île a fêté ses 103 ans"), [weather], IDF, T + 60)
    assert decision.cluster_id is None and decision.compared is None     # not even a candidate


def test_a_story_is_compared_through_its_members_most_like_the_article() -> None:
    """Of a story's POOL newest originals, the RECENT most like the article, kept newest first:
    the bout's older headlines count even when newer ones are about another game."""
    bout = [doc(t, hours=-20 + i) for i, t in enumerate([
        "Judo : Teddy Riner bat Kim Min-jong en finale des +100 kg",
        "JO 2024 : Teddy Riner champion olympique face à Kim Min-jong",
        "Teddy Riner décroche l'or des +100 kg contre Kim Min-jong"])]
    others = [doc(SPORT[1].format(a=a, b=b), hours=-10 + 0.1 * i)
              for i, (a, b) in enumerate(itertools.combinations(ATHLETES[6:], 2))][:POOL - len(bout)]
    members = tuple(sorted(bout + others, key=lambda m: -m.published_at))
    article = doc("Teddy Riner sacré champion olympique des +100 kg face à Kim Min-jong")
    chosen = compared_members(article, members, IDF)
    assert len(chosen) == RECENT
    assert {m.id for m in bout} <= {m.id for m in chosen}
    assert list(chosen) == sorted(chosen, key=lambda m: -m.published_at)


def test_a_small_story_is_compared_through_all_its_members() -> None:
    members = tuple(doc(t, hours=-1) for t in ["Météo Lorient : prévisions du jeudi 4 décembre",
                                              "Météo Lorient : prévisions du vendredi 5 décembre"])
    assert compared_members(doc("Météo Groix : prévisions du jeudi 4 décembre"), members, IDF) == members
