"""Which article stands for a cluster: the earliest original, never a content-farm copy (pure).

Ranked by, in order: not a Google News item (its link is opaque and its text is a headline);
not a padded copy (a near-duplicate whose text is the other's plus boilerplate or extra lines);
a publisher Google News cites (a real outlet, not an unknown republisher); earliest published;
first stored.
"""

from __future__ import annotations

from bot.pipeline.dedup import minhash
from bot.pipeline.dedup.similarity import Doc

Rank = tuple[int, int, int, float, int]


def padded_copy(doc: Doc, other: Doc) -> bool:
    """``doc`` holds ``other``'s text plus at least a third more: a republisher's copy."""
    a, b = doc.shingles, other.shingles
    if not a or not b or len(a) < 1.3 * len(b):
        return False
    return minhash.compare(a, b)[1] >= 0.8


def rank(doc: Doc, *, known_publisher: bool, padded: bool) -> Rank:
    return (int(doc.is_google_news), int(padded), int(not known_publisher), doc.published_at, doc.id)


def prefer(new: Doc, current: Doc, *, new_known: bool, current_known: bool) -> bool:
    """True when ``new`` should replace ``current`` as the representative."""
    new_rank = rank(new, known_publisher=new_known, padded=padded_copy(new, current))
    cur_rank = rank(current, known_publisher=current_known, padded=padded_copy(current, new))
    return new_rank < cur_rank
