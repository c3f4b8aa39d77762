"""Does a new article belong to a story it could join? The clustering decision (pure).

A story is compared through what it is about *now*: the ``RECENT`` members most like the
article among its ``POOL`` most recent original articles (:func:`compared_members`), never its
whole history (a centroid summed over hundreds of headlines of a 19-day event is a topic, not
an event) and never one member alone (single-link chaining: A joins B through one word, C joins
A through another). Its size is no feature, and what a big story offers to choose from stops at
``POOL`` members (a story of 300 is no easier to join than one of 30); a story whose newest
article is more than ``WINDOW`` older than the article stops attracting it.

Each (article, story) pair gets a few similarity features (:data:`FEATURES`); a logistic
regression fitted on the development data by ``bench/fit_dedup.py`` (weights in
:mod:`bot.pipeline.dedup.weights`) turns them into a probability, and the article joins the most probable
story at or above the fitted threshold. No I/O here: the engine reads the candidates, calls
:func:`decide` and writes what it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from operator import or_

from bot.pipeline.dedup import weights as fitted
from bot.pipeline.dedup.similarity import Doc, Idf, weighted_cosine
from bot.pipeline.dedup.text import (
    TOPIC_NAMES,
    WORD_NAMES,
    capital_words,
    capitalised,
    is_number,
    is_title_case,
    stem,
)

HOURS = 3600.0
POOL = 30                  # the engine hands each candidate story's 30 most recent originals
RECENT = 10                # of which the story is compared through the 10 most like the article
WINDOW = fitted.WINDOW_HOURS * HOURS   # newest member older than this: the story is closed
MIN_SUMMARY_WORDS = 12     # a summary shorter than this is no text to compare
RARE_TERMS = 2             # the article's (and the story's) rarest title terms that must agree

FEATURES = (
    "title_story",         # IDF cosine of the title with the story's whole centroid (normalised:
                           # the more varied a story, the weaker any one headline's match)
    "title_centroid",      # IDF cosine of the title with the recent members' titles summed
    "title_mean",          # mean IDF title cosine with each recent member (no max: no chaining)
    "title_top2",          # mean of the two best member title cosines (one member never suffices)
    "core_in_doc",         # share of the story's recurring title weight the article's text holds
    "doc_in_story",        # share of the article's title weight the story's recent titles use
    "key_shared",          # the rarest title term shared with several members, against the title's rarest
    "text_centroid",       # the same on title + summary, when both sides have a summary
    "has_text",            # both sides have a summary (text_centroid is meaningful)
    "rare_missing",        # share of the article's rarest title terms the story never uses
    "story_rare_missing",  # share of the story's rarest common title terms the article lacks
    "distinct_disagree",   # each side's single rarest title term is missing from the other
    "templated",           # a recent member's title is this one with another name in the slot
    "names_shared",        # distinctive capitalised names both use (capped at 3, / 3)
    "names_conflict",      # with every recent member: each names someone/somewhere the other never
                           # mentions, and they share fewer than two names (Kharkiv / Odesa)
    "numbers_shared",      # a title number both use
    "numbers_conflict",    # both titles have numbers, none in common
    "countries_conflict",  # both name countries (FR/EN aliases folded), none in common
    "tags",                # Jaccard of the article's tags with the story's
    "same_source",         # a recent member is from the same outlet
    "gap",                 # log(1 + hours between the article and the story's recent members)
    "related",             # Google News lists one of them in the other's related coverage
)


@dataclass(frozen=True)
class Story:
    """A candidate story as the engine read it: its id, its recent originals (newest first,
    at most :data:`POOL`; :func:`decide` compares through :func:`compared_members` of them) and
    how many Google News related-coverage links tie it to the article."""

    cluster_id: int
    members: tuple[Doc, ...]
    related: int = 0
    centroid: Centroid | None = None


# The story's stemmed title terms summed over all its originals, as the engine reads them: the
# squared IDF-weighted norm of the sum, and the counts of the article's own title terms.
Centroid = tuple[float, dict[str, int]]


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` concluded: the story joined (None: a new story), the best
    candidate compared (joined or not), its features (in :data:`FEATURES` order) and score."""

    cluster_id: int | None
    compared: int | None
    score: float
    features: tuple[float, ...]


@dataclass(frozen=True)
class Model:
    """A fitted logistic regression: ``intercept + sum(w * x)`` -> probability; join at
    ``threshold`` or above."""

    intercept: float
    weights: tuple[float, ...]
    threshold: float

    def probability(self, x: tuple[float, ...]) -> float:
        z = self.intercept + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


MODEL = Model(fitted.INTERCEPT, tuple(fitted.WEIGHTS[name] for name in FEATURES), fitted.THRESHOLD)


def article_time(doc: Doc, now: float) -> float:
    """When the article happened, as far as clustering goes: its date, never in the future."""
    return min(doc.published_at, now) if doc.published_at > 0 else now


MIN_SHARED = 2             # title words an article must share with a story's recent titles


def joinable(doc: Doc, story: Story, at: float) -> bool:
    """The story may take the article at all: still open (:func:`open_story`), and sharing at
    least :data:`MIN_SHARED` title words with its recent titles, so one word, a town's or a
    topic's, never carries a join ("Groix. La doyenne a fêté ses 103 ans" and "Météo Groix :
    prévisions..." share only "Groix") — or tied to it by Google News related coverage."""
    if not open_story(story, at):
        return False
    if story.related:
        return True
    titles = frozenset().union(*[m.title_stems for m in story.members])
    return len(doc.title_stems & titles) >= MIN_SHARED


def open_story(story: Story, at: float) -> bool:
    """The story still attracts an article of time ``at``: its newest member is at most
    :data:`WINDOW` older (members published after ``at`` keep it open)."""
    return bool(story.members) and max(m.published_at for m in story.members) >= at - WINDOW


def decide(doc: Doc, stories: list[Story], idf: Idf, now: float, model: Model = MODEL) -> Decision:
    """The story ``doc`` joins (the most probable :func:`joinable` one at or above the threshold;
    ties: the lowest id), or a new story. ``idf`` must already know the terms of ``doc`` and the members."""
    at = article_time(doc, now)
    best: Decision = Decision(None, None, 0.0, ())
    for candidate in sorted(stories, key=lambda s: s.cluster_id):
        story = compared(doc, candidate, idf)
        if not joinable(doc, story, at):
            continue
        x = features(doc, story, idf, at)
        p = model.probability(x)
        if best.compared is None or p > best.score:
            best = Decision(None, story.cluster_id, p, x)
    if best.compared is not None and best.score >= model.threshold:
        return Decision(best.compared, best.compared, best.score, best.features)
    return best


def compared_members(doc: Doc, members: tuple[Doc, ...], idf: Idf, k: int | None = None) -> tuple[Doc, ...]:
    """The ``k`` members a story is compared through: of its recent originals (newest first, the
    engine's :data:`POOL`), the ``k`` whose titles are most like the article's (IDF cosine; ties:
    the newer), kept newest first. A long story's headlines are several threads at once
    (pre-orders, launch, reviews); comparing with the ten newest whatever they say split more
    of them (docs/BENCHMARKS.md, "Recall work"). ``k`` (default :data:`RECENT`) members, never
    one: no single headline carries a join."""
    k = RECENT if k is None else k
    if len(members) <= k:
        return members
    title = doc.title_stems
    cosines = [weighted_cosine(title, m.title_stems, idf) for m in members]
    ranked = sorted(range(len(members)), key=lambda i: (-cosines[i], i))
    return tuple(members[i] for i in sorted(ranked[:k]))


def compared(doc: Doc, story: Story, idf: Idf) -> Story:
    """``story`` as :func:`decide` compares it with ``doc``: through :func:`compared_members`."""
    members = compared_members(doc, story.members, idf)
    if members is story.members:
        return story
    return Story(story.cluster_id, members, story.related, story.centroid)


# -- features -------------------------------------------------------------------------------------


def features(doc: Doc, story: Story, idf: Idf, at: float) -> tuple[float, ...]:
    """The :data:`FEATURES` of one (article, story) pair."""
    members = story.members
    titles = [m.title_stems for m in members]
    counts = _counts(titles)
    title_story = story_cosine(doc.title_stems, story.centroid, idf)
    title_cent = centroid_cosine(doc.title_stems, titles, idf, counts)
    cosines = sorted((weighted_cosine(doc.title_stems, t, idf) for t in titles), reverse=True)
    title_mean = sum(cosines) / len(cosines)
    title_top2 = sum(cosines[:2]) / 2       # a lone member counts half: one headline is no story
    texts = [m.text_stems for m in members if m.summary_words >= MIN_SUMMARY_WORDS]
    has_text = doc.summary_words >= MIN_SUMMARY_WORDS and bool(texts)
    text_cent = centroid_cosine(doc.text_stems, texts, idf) if has_text else 0.0
    story_text = reduce(or_, (m.text_stems for m in members), frozenset())
    story_titles = frozenset(counts)
    sq = idf.squared
    recurring = sorted(t for t, c in counts.items() if c >= 2 or len(titles) == 1)
    core_total = sum([counts[t] * sq(t) for t in recurring])
    core_in_doc = sum([counts[t] * sq(t) for t in recurring if t in doc.text_stems]) / core_total \
        if core_total else 0.0
    mine = sorted(doc.title_stems)
    doc_total = sum([sq(t) for t in mine])
    doc_in_story = sum([sq(t) for t in mine if t in story_titles]) / doc_total if doc_total else 0.0
    top = max([idf(t) for t in mine], default=0.0)
    key = max([idf(t) for t in mine if counts.get(t, 0) >= 2 or (len(titles) == 1 and t in counts)],
              default=0.0)
    mine_rare, theirs_rare = rarest(doc.title_stems, idf), rarest(_common(titles), idf)
    rare_missing = _missing(mine_rare, story_text)
    rare_missing_story = _missing(theirs_rare, doc.text_stems)
    # "Météo Groix" / "Météo Lorient", Kharkiv / Odesa, two bouts: the words that make each
    # headline this one and not its template disagree.
    disagree = bool(mine_rare) and bool(theirs_rare) and mine_rare[0] not in story_text \
        and theirs_rare[0] not in doc.text_stems
    names_doc = names(doc, idf)
    names_story = reduce(or_, (names(m, idf) for m in members), frozenset())
    shared = names_doc & names_story
    conflict = all(_names_conflict(names_doc, doc, names(m, idf), m) for m in members)
    nums_doc = doc.title_numbers
    nums_story = reduce(or_, (m.title_numbers for m in members), frozenset())
    countries_doc = doc.title_stems & TOPIC_NAMES
    countries_story = story_titles & TOPIC_NAMES
    tags_story = reduce(or_, (m.tags for m in members), frozenset())
    tags = len(doc.tags & tags_story) / len(doc.tags | tags_story) if doc.tags and tags_story else 0.0
    first, last = min(m.published_at for m in members), max(m.published_at for m in members)
    hours = max(first - at, at - last, 0.0) / HOURS
    return (
        title_story,
        title_cent,
        title_mean,
        title_top2,
        core_in_doc,
        doc_in_story,
        key / top if top else 0.0,
        text_cent,
        float(has_text),
        rare_missing,
        rare_missing_story,
        float(disagree),
        float(any(templated(doc, m, idf) for m in members)),
        min(len(shared), 3) / 3,
        float(conflict),
        float(bool(nums_doc & nums_story)),
        float(bool(nums_doc) and bool(nums_story) and not nums_doc & nums_story),
        float(bool(countries_doc) and bool(countries_story) and not countries_doc & countries_story),
        tags,
        float(any(m.source_key == doc.source_key for m in members) and bool(doc.source_key)),
        math.log1p(hours),
        float(story.related > 0),
    )


def story_cosine(terms: frozenset[str], centroid: Centroid | None, idf: Idf) -> float:
    """IDF cosine of a title with a story's stored centroid (0 without one)."""
    if centroid is None or not terms or centroid[0] <= 0:
        return 0.0
    norm2, counts = centroid
    sq = idf.squared
    dot = sum([sq(t) * counts[t] for t in sorted(terms) if counts.get(t)])
    return dot / (idf.norm(terms) * math.sqrt(norm2)) if dot else 0.0


def _counts(sets: list[frozenset[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for terms in sets:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    return counts


def centroid_cosine(
    terms: frozenset[str], others: list[frozenset[str]], idf: Idf, counts: dict[str, int] | None = None
) -> float:
    """IDF cosine of a binary term vector with the sum of several (summed in term order, so the
    float result does not depend on string hashing). ``counts``: the sum, if already made."""
    if not terms or not others:
        return 0.0
    counts = _counts(others) if counts is None else counts
    sq = idf.squared
    dot = sum([sq(t) * counts[t] for t in sorted(terms) if t in counts])
    if not dot:
        return 0.0
    norm = math.sqrt(sum([sq(t) * c * c for t, c in sorted(counts.items())]))
    return dot / (idf.norm(terms) * norm)


def rarest(terms: frozenset[str], idf: Idf, n: int = RARE_TERMS) -> list[str]:
    """The ``n`` rarest words of a title (ties: alphabetical): what this headline is about,
    beyond its template ("Météo Groix : prévisions..." -> "groix")."""
    words = [t for t in terms if len(t) > 2 or is_number(t)]
    return sorted(words, key=lambda t: (-idf(t), t))[:n]


def _common(titles: list[frozenset[str]]) -> frozenset[str]:
    """Terms in at least half of the story's recent titles (all of them for one member)."""
    if len(titles) == 1:
        return titles[0]
    counts = _counts(titles)
    return frozenset(t for t, c in counts.items() if 2 * c >= len(titles))


def _missing(terms: list[str], text: frozenset[str]) -> float:
    return sum(1 for t in terms if t not in text) / len(terms) if terms else 0.0


TEMPLATE_COS = 0.4         # titles this similar that differ by a name on each side: siblings


def templated(a: Doc, b: Doc, idf: Idf) -> bool:
    """Two headlines of one template with other names in the slot: "Météo Groix : prévisions
    du jeudi" / "Météo Lorient : ...", "Lorient. Un marché place Alsace" / "Quimper. Un marché
    place Saint-Corentin", "Magnitude 5.4 quake shakes Peru" / "... Japan": the titles are this
    similar, and on each side every title word the other title lacks is a capitalised name that
    the other article never mentions. Numbers are no slot (a death toll that rises is the same
    story), nor are countries (told apart by ``countries_conflict``; "Ukraine says" / "selon
    Kiev" is one story); Title Case headlines have no visible slots (every word is capitalised)."""
    if weighted_cosine(a.title_stems, b.title_stems, idf) < TEMPLATE_COS:
        return False
    return _slot(a, b) and _slot(b, a)


def _slot(a: Doc, b: Doc) -> bool:
    if is_title_case(a.title):
        return False
    own = [t for t in a.title_terms if stem(t) not in b.title_stems and stem(t) not in TOPIC_NAMES]
    caps = capital_words(a.title)
    return bool(own) and all(t in caps and not is_number(t) for t in own) \
        and any(stem(t) not in b.text_stems for t in own)


def _names_conflict(names_a: frozenset[str], a: Doc, names_b: frozenset[str], b: Doc) -> bool:
    """Each title names something the other article never mentions, and they share fewer than
    two names: "Russian strike on Kharkiv kills 5" / "... on Odesa kills 5" (not "Doliprane,
    Opella, Sanofi" / "Doliprane, Opella, Bpifrance")."""
    return bool(names_a - b.text_stems) and bool(names_b - a.text_stems) and len(names_a & names_b) < 2


def names(doc: Doc, idf: Idf) -> frozenset[str]:
    """Stems of the distinctive capitalised names of a title: people, places, organisations
    ("Kharkiv", "Sbarro"); not countries (a topic), not numbers, not frequent words."""
    out = set()
    for token in capitalised(doc.title) & doc.title_terms:
        s = stem(token)
        if s not in TOPIC_NAMES and s not in WORD_NAMES and idf.distinctive(s):
            out.add(s)
    return frozenset(out)


# -- candidates -----------------------------------------------------------------------------------

MAX_STORIES = 8            # candidate stories scored per article


def candidate_clusters(
    postings: list[tuple[str, int | None]], idf: Idf, n: int = MAX_STORIES
) -> list[int]:
    """The ``n`` clusters sharing the most with an article, from its index terms' recent
    postings ((term, cluster id) pairs): each distinct shared term counts once per cluster,
    weighted by its squared IDF, so a big cluster (many postings of one word) ranks no higher
    than a small one using the same words. Ties: the lowest id."""
    seen: set[tuple[str, int]] = set()
    overlap: dict[int, float] = {}
    for term, cluster_id in sorted(postings, key=lambda p: (p[0], p[1] or 0)):
        if cluster_id is None or (term, cluster_id) in seen:
            continue
        seen.add((term, cluster_id))
        overlap[cluster_id] = overlap.get(cluster_id, 0.0) + idf.squared(term)
    return sorted(overlap, key=lambda c: (-overlap[c], c))[:n]


MAX_SUMMARY_NAMES = 8      # a summary's rarest names posted beside the title's terms


def index_terms(doc: Doc, idf: Idf) -> frozenset[str]:
    """Stems an article is found by (and posted under): its title's, plus the rarest names of
    its summary (ties: alphabetical)."""
    extra = {stem(e) for e in doc.entities} - doc.title_stems
    ranked = sorted(extra, key=lambda t: (-idf(t), t))
    return doc.title_stems | frozenset(ranked[:MAX_SUMMARY_NAMES])
