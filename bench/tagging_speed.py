"""Tagging throughput on one core: shipped taxonomy vs a generated 5,000-keyword taxonomy.

    .venv/bin/python bench/tagging_speed.py [--rounds 20]

Texts: the labelled headlines of tests/data/tagging (title + summary) plus the seed article,
tagged over and over. Reports articles/s for
  - the shipped taxonomy (config.example.toml, ~1,000 keywords),
  - a generated taxonomy of 5,000 keywords (500 tags; half the keywords are words and word
    pairs taken from the texts so they do match, half invented; some with * or all-capital),
  - the normalisation step alone (the floor any matcher pays),
  - a baseline in the same run: one compiled regex per keyword over the normalised text
    (what "a loop over keywords per article" costs), with the shipped taxonomy,
  - bot.pipeline.tagging.retag.retag_articles over 20,000 stored articles in a real SQLite file
    (hot reload cost).
and the cost ratio between the two taxonomies against their keyword-count ratio.
Target: >= 10,000 articles/s with the shipped taxonomy; cost growing far slower than keywords.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import TagConfig, load_config  # noqa: E402
from bot.pipeline.tagging import Tagger  # noqa: E402
from bot.pipeline.tagging.keywords import parse_keyword  # noqa: E402
from bot.pipeline.tagging.normalize import normalize_article  # noqa: E402

DATA = ROOT / "tests" / "data" / "tagging"
SHARED = Path("/work/shared")


def _feed_texts() -> list[tuple[str, str]]:
    """Titles and plain-text summaries of the real feed samples in /work/shared/feeds-real."""
    import feedparser
    from selectolax.lexbor import LexborHTMLParser

    texts = []
    for path in sorted((SHARED / "feeds-real").glob("*.*")):
        if path.suffix not in (".xml", ".atom"):
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            summary = entry.get("summary", "")
            if "<" in summary:
                summary = LexborHTMLParser(summary).text(separator=" ")
            texts.append((entry.get("title", ""), summary))
    return texts


def load_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                texts.append((case["title"], case.get("summary", "")))
    for seed in sorted((SHARED / "seeds").glob("*.txt")):
        body = seed.read_text(encoding="utf-8")
        texts.append((body.splitlines()[0], body))
    if (SHARED / "feeds-real").is_dir():
        texts += _feed_texts()
    return texts


def generated_taxonomy(
    texts: list[tuple[str, str]], keywords: int = 5000, per_tag: int = 10, invented_only: bool = False
) -> tuple[TagConfig, ...]:
    """A deterministic synthetic taxonomy: words and word pairs of the texts (so they match, far
    more often than real keywords would), prefixes, acronyms and invented words; or, with
    ``invented_only``, words that never match (the cost of the automaton's size alone)."""
    rng = random.Random(42)
    words = sorted({w for title, summary in texts for w in re.findall(r"\w{4,}", f"{title} {summary}")})
    pool: dict[str, None] = {}
    while len(pool) < keywords:
        kind = rng.random()
        if invented_only or kind >= 0.65:
            word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 11)))
        elif kind < 0.3:
            word = rng.choice(words)
        elif kind < 0.5:
            word = f"{rng.choice(words)} {rng.choice(words)}"
        elif kind < 0.6:
            word = rng.choice(words)[:5] + "*"
        else:
            word = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 5)))
        pool[word] = None
    keywords_list = list(pool)
    tags = []
    for i in range(0, len(keywords_list), per_tag):
        tags.append(TagConfig(id=f"gen-{i // per_tag}", labels={"en": f"gen {i}"},
                              keywords=tuple(keywords_list[i:i + per_tag])))
    return tuple(tags)


class RegexLoop:
    """Baseline: one compiled regex per keyword, tried on every article."""

    def __init__(self, tags: tuple[TagConfig, ...]):
        self.patterns = []
        for tag in tags:
            for raw in tag.keywords:
                kw = parse_keyword(raw)
                tail = r"\w*" if kw.prefix else r"\b"
                self.patterns.append((tag.id, re.compile(r"\b" + re.escape(kw.folded) + tail)))

    def tag(self, title: str, summary: str) -> dict[str, str]:
        _, folded = normalize_article(title, summary)
        found: dict[str, str] = {}
        for tag_id, pattern in self.patterns:
            if tag_id not in found and (m := pattern.search(folded)):
                found[tag_id] = m.group(0)
        return found


def retag_rate(tags: tuple[TagConfig, ...], texts: list[tuple[str, str]], count: int) -> tuple[float, int]:
    """Articles/s of ``retag_articles`` over ``count`` stored articles in a real SQLite file
    (what a hot reload with changed tags costs the DB thread), and how many changed."""
    import tempfile

    from bot.config import FeedConfig
    from bot.models import Article
    from bot.pipeline.store import open_database
    from bot.pipeline.store.articles import save_articles
    from bot.pipeline.store.feeds import sync_feeds
    from bot.pipeline.tagging.retag import retag_articles

    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "bench.db")
        feed_id = sync_feeds(db, [FeedConfig(name="bench", url="https://x.example/rss", interval=900)],
                             now)["bench"]
        articles = [
            Article(guid=str(i), link=f"https://x.example/{i}", canonical_url=f"https://x.example/{i}",
                    title=texts[i % len(texts)][0], summary=texts[i % len(texts)][1], source="x",
                    published_at=now - i, fetched_at=now - i)
            for i in range(count)
        ]
        with db.atomic():
            save_articles(db, feed_id, articles, now)
        start = time.perf_counter()
        changed = retag_articles(db, Tagger.from_config(tags), now - 7 * 86400, now)
        elapsed = time.perf_counter() - start
        db.conn.close()
    return count / elapsed, changed


def rate(fn: Callable[[str, str], object], texts: list[tuple[str, str]], rounds: int) -> float:
    """Articles per second, best of three runs of ``rounds`` passes over ``texts``."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            for title, summary in texts:
                fn(title, summary)
        best = min(best, time.perf_counter() - start)
    return rounds * len(texts) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--retag", type=int, default=20_000, help="stored articles for the retag figure")
    args = parser.parse_args()
    texts = load_texts()
    avg_chars = sum(len(t) + len(s) for t, s in texts) / len(texts)
    shipped = load_config(ROOT / "config.example.toml").tags
    generated = generated_taxonomy(texts)
    invented = Tagger.from_config(generated_taxonomy(texts, invented_only=True))
    n_shipped = sum(len(t.keywords) + len(t.exclude) for t in shipped)
    n_generated = sum(len(t.keywords) for t in generated)

    t0 = time.perf_counter()
    tagger = Tagger.from_config(shipped)
    build_shipped = time.perf_counter() - t0
    t0 = time.perf_counter()
    big = Tagger.from_config(generated)
    build_generated = time.perf_counter() - t0

    print(f"texts: {len(texts)} articles, {avg_chars:.0f} characters on average; {args.rounds} rounds, "
          "best of 3, one core")
    norm = rate(normalize_article, texts, args.rounds)
    r_shipped = rate(tagger.tag, texts, args.rounds)
    r_generated = rate(big.tag, texts, args.rounds)
    r_invented = rate(invented.tag, texts, args.rounds)
    r_regex = rate(RegexLoop(shipped).tag, texts, max(1, args.rounds // 10))
    hits_shipped = sum(len(tagger.tag(t, s)) for t, s in texts) / len(texts)
    hits_generated = sum(len(big.tag(t, s)) for t, s in texts) / len(texts)
    print(f"normalisation only           {norm:>10,.0f} articles/s")
    print(f"shipped taxonomy             {r_shipped:>10,.0f} articles/s  ({n_shipped:,} keywords+excludes, "
          f"{len(shipped)} tags, {hits_shipped:.1f} tags/article, built in {build_shipped * 1000:.0f} ms)")
    print(f"generated taxonomy           {r_generated:>10,.0f} articles/s  ({n_generated:,} keywords, "
          f"{len(generated)} tags, {hits_generated:.1f} tags/article, "
          f"built in {build_generated * 1000:.0f} ms)")
    print(f"5,000 invented keywords      {r_invented:>10,.0f} articles/s  (no hits: automaton size alone)")
    print(f"baseline: regex per keyword  {r_regex:>10,.0f} articles/s  (shipped taxonomy)")
    retag, changed = retag_rate(shipped, texts, args.retag)
    print(f"retag_articles in SQLite     {retag:>10,.0f} articles/s  ({args.retag:,} stored untagged "
          f"articles, {changed:,} changed; the hot-reload path)")
    print(f"keywords ratio generated/shipped: {n_generated / n_shipped:.2f}x; "
          f"cost ratio: {r_shipped / r_generated:.2f}x")
    print(f"automaton vs regex loop (shipped): {r_shipped / r_regex:.1f}x faster")
    print("target >= 10,000 articles/s shipped:", "met" if r_shipped >= 10_000 else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
