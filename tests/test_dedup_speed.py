"""The dedup speed-ups compute exactly what the plain code did, and their caches stay bounded."""

from __future__ import annotations

import math
import random

from bot.pipeline.dedup import minhash, text
from bot.pipeline.dedup.similarity import Idf, weighted_cosine


def _plain_signature(sh: frozenset[int]) -> list[int]:
    p, mask = minhash._MERSENNE, minhash._MASK32
    return [min(((a * x + b) % p) & mask for x in sh) for a, b in minhash._PERMS]


def test_packed_signature_equals_the_plain_loop() -> None:
    rng = random.Random(11)
    sets = [frozenset(rng.getrandbits(32) for _ in range(rng.randint(1, 700))) for _ in range(200)]
    sets += [frozenset({0}), frozenset({minhash._MASK32}), frozenset({0, 1, 2**31, minhash._MASK32})]
    for sh in sets:
        assert minhash.signature(sh) == _plain_signature(sh)
    # Out-of-range values (not shingle hashes) take the plain path and still agree.
    odd = frozenset({-5, 2**40, 7})
    assert minhash.signature(odd) == _plain_signature(odd)


def test_bulk_idf_weights_equal_the_scalar_formula() -> None:
    rng = random.Random(3)
    for _ in range(200):
        docs = rng.randint(0, 10**6)
        df = {f"t{i}": rng.randint(0, docs) for i in range(40)}
        terms = frozenset(f"t{i}" for i in range(50))        # ten never seen
        idf = Idf(df, docs)
        # Summed in sorted term order (not the set's hash-dependent order).
        weights = [(math.log((docs + 1) / (df.get(t, 0) + 1)) + 1.0) ** 2 for t in sorted(terms)]
        expected = math.sqrt(sum(weights))
        assert idf.norm(terms) == expected
        for t in terms:
            assert idf(t) == math.log((docs + 1) / (df.get(t, 0) + 1)) + 1.0
            assert idf.squared(t) == idf(t) ** 2


def test_weighted_cosine_reads_frequencies_through_the_lookup() -> None:
    asked: list[str] = []

    def lookup(terms: list[str]) -> dict[str, int]:
        asked.extend(terms)
        return {t: 3 for t in terms}

    idf = Idf({}, 100, lookup)
    a, b = frozenset({"kharki", "strike"}), frozenset({"odesa", "strike"})
    assert 0 < weighted_cosine(a, b, idf) < 1
    assert sorted(asked) == ["kharki", "odesa", "strike"]


def test_text_caches_skip_long_texts() -> None:
    text.words.cache_clear()
    long_text = "word " * 200
    text.words(long_text)
    assert text.words.cache_info().currsize == 0
    text.words("Russian strike on Kharkiv kills 5")
    assert text.words.cache_info().currsize == 1
