"""Pure clustering decisions: naming conflicts, templated siblings, centroid and keywords."""

from __future__ import annotations

from collections import Counter

from bot.dedup.clusters import (
    Profile,
    centroid_cosine,
    centroid_score,
    cluster_scores,
    features,
    market_minority,
    pair_score,
    pick,
    subject_conflict,
    subjects_disagree,
)
from bot.dedup.similarity import Doc, Idf
from bot.dedup.text import acronyms, markets


def _joins(doc: Doc, idf: Idf, members: list[Doc], profiles: dict[int, Profile],
           term_clusters: dict[str, Counter[int]], related_votes: dict[int, int]) -> tuple[int | None, float]:
    """The cluster ``doc`` would join (or None) and its score, as the engine picks it."""
    return pick(cluster_scores(doc, idf, members, profiles, term_clusters, related_votes))


# A store of 1,000 articles where these words are common and everything else is rare.
IDF = Idf({"russia": 80, "strike": 30, "kill": 25, "ukraine": 90, "korea": 40, "north": 60,
           "troops": 50, "says": 200, "magnitu": 5, "earthq": 10}, docs=1000)


def test_two_cities_conflict() -> None:
    f = features(Doc(1, "Russian strike on Kharkiv kills 5"), Doc(2, "Russian strike on Odesa kills 5"), IDF)
    assert f.conflict and f.templated and pair_score(f) == 0.0


def test_two_countries_in_templated_headlines_conflict() -> None:
    f = features(Doc(1, "Magnitude 6.1 earthquake shakes southern Japan, no tsunami warning"),
                 Doc(2, "Magnitude 5.4 earthquake shakes southern Peru, no tsunami warning"), IDF)
    assert f.templated and pair_score(f) == 0.0


def test_a_country_alone_is_no_conflict_between_different_wordings() -> None:
    f = features(Doc(1, "Des soldats nord-coréens en route vers le front russe : la Corée du Sud "
                        "hausse le ton"),
                 Doc(2, "Guerre en Ukraine : la Corée du Nord envoie des soldats en Russie, "
                        "affirme Séoul"), IDF)
    assert not f.conflict and not f.templated


def test_two_shared_names_outweigh_one_different_name_each() -> None:
    f = features(Doc(1, "Doliprane : Sanofi confirme la cession d’Opella au fonds CD&R"),
                 Doc(2, "Vente de Doliprane : l’Etat entre au capital d’Opella via Bpifrance"), IDF)
    assert not f.conflict


def test_centroid_keyword_pulls_a_differently_worded_headline_in() -> None:
    doc = Doc(9, "Sbarro again files for Ch. 11 reorganization")
    profile = (5, 60.0, {"sbarro": 5, "files": 3})
    recent = {"sbarro": Counter({7: 5}), "files": Counter({7: 3, 8: 4})}
    assert centroid_score(doc, IDF, profile, recent, 7) >= 0.2


def test_a_country_alone_cannot_pull_an_article_into_a_cluster() -> None:
    doc = Doc(9, "N. Korea floats more trash balloons across border, JCS says")
    profile = (6, 80.0, {"korea": 6, "north": 6, "troops": 6, "kursk": 4})
    recent = {"korea": Counter({7: 6})}                   # one Korea story dominates the window
    assert centroid_score(doc, IDF, profile, recent, 7) == 0.0


def test_related_coverage_overrides_a_cross_language_conflict() -> None:
    fr = Doc(1, "Troupes nord-coréennes en Russie : Séoul envisage d’envoyer des soldats en Ukraine",
             cluster_id=7)
    en = Doc(2, "North Korean troops to reach Kursk front on Wednesday, Ukraine intelligence says")
    assert _joins(en, IDF, [fr], {}, {}, {})[0] is None
    assert _joins(en, IDF, [fr], {}, {}, {7: 1})[0] == 7


def test_countries_alone_do_not_pull_another_story_of_the_war_in() -> None:
    doc = Doc(9, "L’Union européenne approuve un prêt de 35 milliards d’euros à l’Ukraine adossé aux "
                 "avoirs russes")
    profile = (9, 60.0, {"russia": 9, "ukraine": 7, "korea": 9, "north": 9, "troops": 8})
    assert centroid_score(doc, IDF, profile, {}, 7) == 0.0


def test_a_lower_case_word_is_no_story_keyword() -> None:
    doc = Doc(9, "Guerre en Ukraine : une frappe russe sur Kharkiv fait quatre morts")
    profile = (5, 60.0, {"mort": 5, "turkey": 5, "ankara": 4})
    recent = {"mort": Counter({7: 5})}
    assert centroid_score(doc, IDF, profile, recent, 7) == 0.0


def test_a_story_about_other_countries_is_vetoed_by_the_cluster_subjects() -> None:
    # An Iran nuclear talks story of three articles: "Iran" in every title, "Geneva" in two.
    iran_story = (3, 10.0, {"iran": 3, "geneva": 2, "talk": 3})
    ukraine = Doc(1, "First day of Russia-Ukraine peace talks ends in Geneva")
    assert subject_conflict(ukraine, iran_story)
    # Naming the story's own country in the title or the summary is no conflict by itself...
    assert not subject_conflict(Doc(2, "Iran talks in Geneva resume as Ukraine war rages"), iran_story)
    # ...but a round-up naming other countries the story never names, and sharing no other word
    # with it, is kept out (it tells other stories too: precision first).
    assert subject_conflict(Doc(2, "Trump tries to resolve three crises with Iran, Ukraine and Gaza"),
                            iran_story)
    with_summary = Doc(3, "Russia-Ukraine talks in Geneva", summary="Iran's envoy is there too.")
    assert not subject_conflict(with_summary, iran_story)
    # A title naming no country, or a cluster without a dominant one, is left to the scores.
    assert not subject_conflict(Doc(4, "Peace talks in Geneva end without a deal"), iran_story)
    assert not subject_conflict(ukraine, (4, 10.0, {"iran": 1, "geneva": 4, "talk": 4}))


def test_an_everyday_word_one_story_uses_a_lot_is_no_lone_keyword() -> None:
    # "Dies" heads every obituary: the Jesse Jackson story must not take in another death.
    profile = (5, 60.0, {"dies": 3, "jesse": 5, "jackson": 5})
    recent = {"dies": Counter({7: 3})}
    doc = Doc(9, "Millvina Dean, Titanic’s Last Survivor, Dies at 97")
    idf = Idf({"dies": 40, "jesse": 5, "jackson": 6}, docs=1000)    # 40 stored articles say "dies"
    assert centroid_score(doc, idf, profile, recent, 7) == 0.0
    # The same counts for a name the story owns (most articles that ever used it are in it).
    owned = Idf({"dies": 4, "jesse": 5, "jackson": 6}, docs=1000)
    assert centroid_score(doc, owned, profile, recent, 7) > 0.2


def test_texts_that_tell_other_stories_veto_a_title_only_match() -> None:
    # One shared country and one ordinary word put the titles close; the summaries disagree.
    idf = Idf({"germany": 90, "start": 60}, docs=1000)
    inflation = Doc(1, "Germany inflation rises 2.1% at start of 2026", cluster_id=7,
                    summary="Consumer prices rose faster in January, driven by food and energy costs, "
                            "the federal statistics office said on Thursday in Wiesbaden.")
    activist = Doc(2, "Belarusian activist Kolesnikova on starting over in Germany",
                   summary="Freed after years in a Belarusian prison, the opposition figure talks "
                           "about exile, her sister and rebuilding a life in Berlin.")
    profile = (1, 40.0, {"germany": 1, "start": 1})
    assert centroid_score(activist, idf, profile, {}, 7) >= 0.2       # the titles alone would join
    assert _joins(activist, idf, [inflation], {7: profile}, {}, {})[0] is None
    # Without summaries to compare, the title match is left to the scores.
    bare = Doc(3, activist.title)
    assert _joins(bare, idf, [Doc(4, inflation.title, cluster_id=7)], {7: profile}, {}, {})[0] == 7


def test_a_word_the_members_write_in_lower_case_is_no_lone_keyword() -> None:
    # "create" is in most Chiquita-Fyffes headlines and in few others: it looks story-owned, but
    # the members write it in lower case, so it is a word, not the story's name.
    chiquita = [Doc(i, t, cluster_id=7) for i, t in enumerate([
        "Chiquita and Fyffes to create world's leading banana company",
        "Chiquita, Fyffes merge to create top banana supplier",
        "Fyffes and Chiquita to create biggest banana firm"])]
    profile = (4, 80.0, {"creat": 4, "chiqui": 4, "fyff": 4, "banana": 3})
    recent = {"creat": Counter({7: 4})}
    idf = Idf({"creat": 5, "chiqui": 4, "fyff": 4, "banana": 3}, docs=1000)
    noyer = Doc(9, "Noyer Says Strong Euro Creates Unwarranted Economic Pressure")
    assert centroid_score(noyer, idf, profile, recent, 7) > 0.2              # the centroid alone would
    assert centroid_score(noyer, idf, profile, recent, 7, frozenset({"creat"})) == 0.0
    assert _joins(noyer, idf, chiquita, {7: profile}, recent, {})[0] is None
    # A name the members never write in lower case still stands alone.
    sbarro = [Doc(i, t, cluster_id=8) for i, t in enumerate([
        "Sbarro files for bankruptcy again", "Pizza chain Sbarro seeks protection",
        "Sbarro goes bankrupt for second time"])]
    profile = (4, 60.0, {"sbarro": 4, "bankru": 3})
    recent = {"sbarro": Counter({8: 4})}
    idf = Idf({"sbarro": 4, "bankru": 9}, docs=1000)
    mall = Doc(10, "13 Things We'll Miss Most About Sbarro")
    assert _joins(mall, idf, sbarro, {8: profile}, recent, {})[0] == 8


def test_centroids_agree_on_one_story_not_on_a_shared_word() -> None:
    idf = Idf({"bond": 20, "asks": 30, "sbarro": 3, "bankru": 10, "pizza": 5, "mall": 5}, docs=1000)
    bankruptcy = {"sbarro": 5, "bankru": 5, "pizza": 2}
    closures = {"pizza": 3, "mall": 3, "sbarro": 1, "bankru": 1}
    assert centroid_cosine(bankruptcy, closures, idf) >= 0.3
    sec = {"sec": 5, "munici": 5, "bond": 4, "asks": 3}
    china = {"china": 4, "bond": 4, "defaul": 4, "chaori": 3}
    assert centroid_cosine(sec, china, idf) < 0.3
    assert centroid_cosine({}, china, idf) == 0.0


def test_clusters_about_different_countries_do_not_merge() -> None:
    # size, norm, counts of country names: China's bond default vs the SEC's US muni bonds.
    china, sec = (6, 1.0, {"china": 5}), (8, 1.0, {})
    assert subjects_disagree(china, sec) and subjects_disagree(sec, china)
    # Both about Ukraine (one dominated by it, the other mentioning it): one story may merge.
    gas, crisis = (10, 1.0, {"ukraine": 8, "russia": 6}), (5, 1.0, {"ukraine": 2, "russia": 1})
    assert not subjects_disagree(gas, crisis)


def test_an_acronym_and_the_name_it_abbreviates_are_no_conflict() -> None:
    idf = Idf({"jetblu": 3, "airlin": 4, "aa": 1, "ecb": 2, "bank": 30}, docs=1000)
    aa = Doc(1, "AA and JetBlue end ticketing agreement")
    american = Doc(2, "American Airlines, JetBlue ending interline agreement")
    assert not features(aa, american, idf).conflict
    sec = acronyms("Securities and Exchange Commission asks muni issuers")["sec"]
    assert sec == {"securi", "exchan", "commis"}
    assert "tb" not in acronyms("The Bank of England holds rates")          # no connector first
    # Two different names still conflict.
    aa_deal = Doc(3, "JetBlue and AA end ticketing deal")
    delta_deal = Doc(4, "JetBlue and Delta end ticketing deal")
    assert features(aa_deal, delta_deal, idf).conflict


def test_a_country_an_established_story_never_names_needs_two_other_shared_words() -> None:
    # The EU banking-union story ("EU aims for deal on failing banks", "Failing banks focus of
    # EU talks", ...) never names Russia: a Russian pipeline story sharing "EU" and "talks" is
    # another story; one sharing two more words with it is not vetoed.
    banking = (4, 10.0, {"europe": 4, "talks": 1, "fail": 3, "bank": 4})
    assert subject_conflict(Doc(1, "EU delays talks on Russian pipeline"), banking)
    assert not subject_conflict(Doc(2, "Russian banks fail EU stress talks"), banking)
    assert not subject_conflict(Doc(3, "EU delays talks on Russian pipeline"), (2, 5.0, banking[2]))  # young


def _profile(members: list[Doc], idf: Idf) -> tuple[int, float, dict[str, int]]:
    """A cluster's centroid as the store keeps it: title stem counts, IDF-weighted squared norm."""
    counts = Counter(t for m in members for t in m.title_stems)
    return len(members), sum((c * idf(t)) ** 2 for t, c in counts.items()), dict(counts)


# "china", "weak", "data", "export" are in every report of that day: they look like the story's
# keywords, and the centroid alone would put an oil report into the Wall Street story.
MARKETS_IDF = Idf({"china": 60, "weak": 40, "data": 50, "export": 30, "lower": 40, "falls": 50}, docs=1000)


def test_markets_named_in_headlines() -> None:
    assert markets("Wall St. opens lower after S&P's record close") == {"wallstreet"}
    assert markets("U.S. stocks dip on weak Asian data") == {"wallstreet"}
    assert markets("Crude drops on soft Chinese trade figures") == {"oil"}
    assert markets("Hang Seng, Shanghai plunge at close") == {"asiastocks"}
    assert markets("World stocks, copper and oil fall after weak China exports") == {"metals", "oil"}
    # Bare "stocks" says no whose, and a headline may name no market at all.
    assert markets("Stocks fall on weak China export data") == frozenset()
    assert markets("Dollar-denominated gold steady") == frozenset()


def test_an_oil_report_stays_out_of_the_wall_street_story_of_the_same_day() -> None:
    wall_street = [Doc(i, t, cluster_id=7) for i, t in enumerate([
        "Wall St. edges lower on weak China export data",
        "Dow falls on weak China export data",
        "Stocks fall on weak China export data"], start=1)]
    profile = _profile(wall_street, MARKETS_IDF)
    oil = Doc(9, "Oil falls on weak China export data")
    recent = {t: Counter({7: 3}) for t in ("china", "weak", "data", "export")}
    assert centroid_score(oil, MARKETS_IDF, profile, recent, 7) >= 0.2       # the words alone would join
    assert market_minority(oil, wall_street)
    assert _joins(oil, MARKETS_IDF, wall_street, {7: profile}, recent, {})[0] is None
    # A headline naming no market, or a round-up naming several, is left to the scores.
    for title in ("Markets fall on weak China export data",
                  "World stocks, copper, oil fall on weak China data"):
        assert not market_minority(Doc(10, title), wall_street)
        assert _joins(Doc(10, title), MARKETS_IDF, wall_street, {7: profile}, recent, {})[0] == 7


def test_two_oil_reports_join() -> None:
    oil = [Doc(i, t, cluster_id=8) for i, t in enumerate([
        "Crude drops on weak China export data",
        "Brent slides on weak China export data",
        "Copper, oil fall on weak China export data"], start=1)]
    profile = _profile(oil, MARKETS_IDF)
    recent = {t: Counter({8: 3}) for t in ("china", "weak", "data", "export")}
    report = Doc(9, "Oil falls on weak China export data")
    assert not market_minority(report, oil)
    assert _joins(report, MARKETS_IDF, oil, {8: profile}, recent, {})[0] == 8
    # One report on another market among the compared members is no veto: a third is enough.
    mixed = [*oil[:2], Doc(4, "Wall St. edges lower on weak China export data", cluster_id=8)]
    assert not market_minority(report, mixed)
    # Fewer than two one-market reports to compare: no evidence, no veto.
    assert not market_minority(report, [oil[2], mixed[2]])
