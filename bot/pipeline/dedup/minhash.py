"""Near-duplicate text: word shingles, MinHash signatures, LSH bands and containment (pure).

Two candidate generators feed one exact check:

* LSH over MinHash bands finds texts with a high Jaccard similarity (a copy with a few edits).
  ``BANDS`` bands of ``ROWS`` rows: a pair with Jaccard 0.4 collides in at least one band with
  probability 1 - (1 - 0.4**2)**24 ~ 0.985; a pair with Jaccard 0.05 with ~0.06.
* Jaccard is blind to a truncated summary against its full text (a 25-word standfirst inside a
  600-word copy has Jaccard 0.04). "Anchors" are the shingles whose hash falls in a fixed
  1-in-``ANCHOR_MOD`` slice: a text's anchors are a subset of any text containing it, so a
  shared anchor finds containment whatever the size ratio.

Candidates are then verified exactly on the shingle sets: Jaccard, and containment of the
smaller text in the larger one.
"""

from __future__ import annotations

import hashlib
import re
import sys

from bot.pipeline.dedup.text import words

SHINGLE = 3
ROWS = 2
BANDS = 24
NUM_PERM = ROWS * BANDS
ANCHOR_MOD = 4
MAX_ANCHORS = 64
MIN_WORDS = 18          # summaries shorter than this are not compared as text
MIN_CONTAINED = 15      # shingles the smaller text needs for containment to count

_MERSENNE = (1 << 61) - 1
_MASK32 = (1 << 32) - 1


def _params() -> list[tuple[int, int]]:
    out = []
    for i in range(NUM_PERM):
        h = hashlib.blake2b(f"newsbot-minhash-{i}".encode(), digest_size=16).digest()
        a = int.from_bytes(h[:8], "big") % (_MERSENNE - 1) + 1
        b = int.from_bytes(h[8:], "big") % _MERSENNE
        out.append((a, b))
    return out


_PERMS = _params()

# Boilerplate lines republishers glue on: removed before shingling so two different stories
# from one content farm never match on them. The ingest cleaner removes most; this is a backstop.
_BOILERPLATE = re.compile(
    r"(?:telechargez le pdf|article ajoute|ajouter|for latest updates follow us on google news"
    r"|the post .{0,200}? appeared first on .{0,80}|lire aussi|read more|follow us on \w+)",
)


def _hash32(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def shingles(text: str) -> frozenset[int]:
    """Hashed word 3-grams of the folded text (stopwords kept: they carry the phrasing).

    Not cached here (a cache keyed by long summaries grows by tens of KB an entry): dedup keeps
    each article's set on its ``Doc`` (see ``similarity.Doc.shingles``)."""
    toks = words(_strip_boilerplate(text))
    if len(toks) < MIN_WORDS:
        return frozenset()
    return frozenset(_hash32(" ".join(toks[i:i + SHINGLE])) for i in range(len(toks) - SHINGLE + 1))


def _strip_boilerplate(text: str) -> str:
    from bot.pipeline.dedup.text import fold

    return _BOILERPLATE.sub(" ", fold(text))


def signature(sh: frozenset[int]) -> list[int]:
    """MinHash signature: for each permutation the minimum of (a*x + b) mod p over shingles."""
    xs = list(sh)
    if _PACKED and xs and min(xs) >= 0 and max(xs) <= _MASK32:
        return _packed_signature(xs)
    p, mask = _MERSENNE, _MASK32
    return [min([((a * x + b) % p) & mask for x in xs]) for a, b in _PERMS]


_LANE = 16          # bytes per packed value: 128 bits hold a*x + b < 2**94 with room to spare
_PACKED = sys.byteorder == "little" and memoryview(b"\0" * 4).cast("I").itemsize == 4


def _packed_signature(xs: list[int]) -> list[int]:
    """:func:`signature` computed on all shingles at once, exactly ("SIMD within a register").

    Every 32-bit shingle x gets its own 128-bit lane of one big integer X. Per permutation,
    a*X + b*ONE holds a*x + b < 2**94 in every lane (no carry between lanes); mod p with the
    Mersenne prime p = 2**61 - 1 is y = hi * 2**61 + lo == lo + hi (mod p), lo + hi < 2p, then
    one conditional subtraction of p per lane; masked to 32 bits, each lane's low 4 bytes are
    read back as an array and min() runs in C. The same integers as the plain loop, ~2x faster.
    """
    n = len(xs)
    size = n * _LANE
    big_x = int.from_bytes(b"".join([x.to_bytes(_LANE, "little") for x in xs]), "little")
    one = int.from_bytes((1).to_bytes(_LANE, "little") * n, "little")
    low61, high33, low32 = _MERSENNE * one, ((1 << 33) - 1) * one, _MASK32 * one
    out = []
    for a, b in _PERMS:
        y = a * big_x + b * one
        z = (y & low61) + ((y >> 61) & high33)          # lo + hi, < 2**62 per lane
        c = ((z + one) >> 61) & one                     # 1 where z >= p
        z = (z - (c << 61) + c) & low32                 # z - c*p, low 32 bits
        out.append(min(memoryview(z.to_bytes(size, "little")).cast("I")[::4]))
    return out


def band_keys(sig: list[int]) -> list[int]:
    """One signed 63-bit bucket id per band (band number mixed in)."""
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS:(band + 1) * ROWS]
        data = band.to_bytes(1, "big") + b"".join(v.to_bytes(4, "big") for v in chunk)
        keys.append(int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1)
    return keys


def anchors(sh: frozenset[int]) -> list[int]:
    """The shingles in the fixed 1-in-ANCHOR_MOD hash slice (smallest first, capped)."""
    picked = sorted(x for x in sh if x % ANCHOR_MOD == 0)
    # Negative ids keep anchors apart from band buckets in one shared table.
    return [-(x + 1) for x in picked[:MAX_ANCHORS]]


def lsh_keys(text: str) -> list[int]:
    """Every bucket a text is indexed under (bands then anchors); empty for short texts."""
    return keys_of(shingles(text))


def keys_of(sh: frozenset[int]) -> list[int]:
    """:func:`lsh_keys` from an already computed shingle set."""
    if not sh:
        return []
    return band_keys(signature(sh)) + anchors(sh)


def compare(a: frozenset[int], b: frozenset[int]) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set in the larger)."""
    if not a or not b:
        return 0.0, 0.0
    inter = len(a & b)
    return inter / len(a | b), inter / min(len(a), len(b))


def is_near_duplicate(a_text: str, b_text: str) -> bool:
    """The same text: Jaccard >= 0.6, or one (at least 15 shingles) 85 % contained in the other."""
    return near_duplicate(shingles(a_text), shingles(b_text))


def near_duplicate(a: frozenset[int], b: frozenset[int]) -> bool:
    """:func:`is_near_duplicate` on already computed shingle sets."""
    jac, cont = compare(a, b)
    if jac >= 0.6:
        return True
    return min(len(a), len(b)) >= MIN_CONTAINED and cont >= 0.85
