"""How far the UCI clustering target is from reach: the precision/recall frontier, measured.

    .venv/bin/python bench/dedup_frontier.py [--uci PATH] [--seeds 7] [--quick]

The issue's target on the UCI News Aggregator sample is B-cubed F1 >= 0.75 at precision >= 0.90.
This bench asks what any setting of the method, or a plain method tuned on the labels, can reach:

1. **Threshold grid.** The real ingest path (``bench/dedup_quality.py``'s ``ingest``: SQLite file,
   ``save_articles`` + ``process_articles``) re-run with the clustering thresholds of
   ``bot/dedup/clusters.py`` swept (centroid bar, pair bar, keyword bonus, cluster-merge cosine),
   in timestamp (file) order and each shuffled order given. Prints the best F1 among settings with
   precision >= 0.90, and the best F1 overall (the shipped setting is marked).
2. **Oracle split.** The shipped setting's clusters with the one most mixed cluster split by its
   labels: what separating that cluster perfectly, and nothing else, would give.
3. **Label-tuned batch baseline** (needs scipy and scikit-learn, which are not project
   dependencies: skipped with a note when absent). Agglomerative clustering of the stemmed title
   TF-IDF vectors with every headline known up front, each linkage, the cut threshold chosen with
   the labels: an optimistic figure for a bag-of-words method.

The grid sets module constants of ``bot.dedup.clusters`` (and the merge cosine ``engine`` imported)
for the length of one run and restores them: a bench-only override, never done by the bot.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bot.dedup.clusters as clusters  # noqa: E402
import bot.dedup.engine as engine  # noqa: E402
from bench.dedup_quality import DEFAULT_UCI, _tagger, bcubed, ingest, uci_records  # noqa: E402

TARGET_P, TARGET_F1 = 0.90, 0.75
GRID = {
    "CENTROID_THRESHOLD": (0.2, 0.25, 0.3, 0.35),
    "PAIR_THRESHOLD": (0.6, 0.7, 0.8),
    "KEYWORD_BONUS": (0.0, 0.15, 0.3),
    "MERGE_COS": (0.28, 0.35, 0.45, 1.01),      # 1.01: clusters never merge
}
QUICK_GRID = {
    "CENTROID_THRESHOLD": (0.2, 0.3, 0.35),
    "PAIR_THRESHOLD": (0.7,),
    "KEYWORD_BONUS": (0.15, 0.3),
    "MERGE_COS": (0.28, 1.01),
}

Scores = tuple[float, float, float]


def run_setting(setting: dict[str, float], records: list[dict[str, Any]], tag: Any) -> dict[str, Any]:
    """Cluster ``records`` with ``setting`` in force; returns record id -> cluster id."""
    saved = {name: getattr(clusters, name) for name in setting}
    saved_merge = engine.MERGE_COS
    try:
        for name, value in setting.items():
            setattr(clusters, name, value)
        engine.MERGE_COS = setting.get("MERGE_COS", saved_merge)
        with tempfile.TemporaryDirectory() as tmp:
            decided, _ = ingest(records, Path(tmp) / "uci.db", tag)
    finally:
        for name, value in saved.items():
            setattr(clusters, name, value)
        engine.MERGE_COS = saved_merge
    return {rid: d["cluster"] for rid, d in decided.items()}


def shipped() -> dict[str, float]:
    return {name: getattr(clusters, name) for name in GRID}


def frontier(grid: dict[str, tuple[float, ...]], orders: list[tuple[str, int]], tag: Any
             ) -> dict[tuple[str, int], dict[str, Any]]:
    """Print the grid's figures per order; returns the shipped setting's clusters per order."""
    names = list(grid)
    shipped_clusters: dict[tuple[str, int], dict[str, Any]] = {}
    settings = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    if shipped() not in settings:
        settings.append(shipped())
    for order, seed in orders:
        records = uci_records(DEFAULT_UCI, order, seed)
        gold = {str(r["id"]): r["story"] for r in records}
        results = []
        for setting in settings:
            pred = run_setting(setting, records, tag)
            if setting == shipped():
                shipped_clusters[(order, seed)] = pred
            results.append((setting, bcubed(pred, gold)))
        label = "timestamp order" if order == "timestamp" else f"shuffled seed {seed}"
        print(f"threshold grid, {label}: {len(settings)} settings")
        precise = [r for r in results if r[1][0] >= TARGET_P]
        for title, pool in (("best F1 with P >= 0.90", precise), ("best F1 overall", results)):
            if not pool:
                print(f"  {title}: none")
                continue
            setting, (p, r, f) = max(pool, key=lambda x: x[1][2])
            mark = "  (shipped)" if setting == shipped() else ""
            print(f"  {title}: P {p:.3f} R {r:.3f} F1 {f:.3f}  {_fmt(setting)}{mark}")
        p, r, f = next(score for s, score in results if s == shipped())
        print(f"  shipped setting: P {p:.3f} R {r:.3f} F1 {f:.3f}  {_fmt(shipped())}")
        reached = [x for x in precise if x[1][2] >= TARGET_F1]
        print(f"  settings reaching the target: {len(reached)} of {len(settings)}")
    return shipped_clusters


def _fmt(setting: dict[str, float]) -> str:
    short = {"CENTROID_THRESHOLD": "centroid", "PAIR_THRESHOLD": "pair", "KEYWORD_BONUS": "keyword",
             "MERGE_COS": "merge"}
    return " ".join(f"{short[k]}={v:g}" for k, v in setting.items())


def oracle_split(pred: dict[str, Any], gold: dict[str, Any]) -> tuple[dict[str, Any], int, Counter[str]]:
    """``pred`` with its most mixed cluster (the most precision lost) split by label."""
    members: dict[Any, list[str]] = defaultdict(list)
    for item, cluster in pred.items():
        members[cluster].append(item)

    def loss(items: list[str]) -> float:
        counts = Counter(gold[i] for i in items)
        return len(items) - sum(n * n for n in counts.values()) / len(items)

    worst = max(members, key=lambda c: loss(members[c]))
    split = {item: (cluster, gold[item]) if cluster == worst else cluster for item, cluster in pred.items()}
    return split, len(members[worst]), Counter(gold[i] for i in members[worst])


def oracle(shipped_clusters: dict[tuple[str, int], dict[str, Any]]) -> None:
    for (order, seed), pred in shipped_clusters.items():
        gold = {str(r["id"]): r["story"] for r in uci_records(DEFAULT_UCI, order, seed)}
        split, size, labels = oracle_split(pred, gold)
        (p0, r0, f0), (p1, r1, f1) = bcubed(pred, gold), bcubed(split, gold)
        label = "timestamp order" if order == "timestamp" else f"shuffled seed {seed}"
        mix = ", ".join(f"{n}" for _, n in labels.most_common(4))
        print(f"oracle split, {label}: most mixed cluster {size} headlines (labels {mix}); "
              f"P {p0:.3f} R {r0:.3f} F1 {f0:.3f} -> P {p1:.3f} R {r1:.3f} F1 {f1:.3f}")


def batch_baseline() -> None:
    try:
        import numpy as np
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import pdist
        from sklearn.feature_extraction.text import TfidfVectorizer
    except ImportError:
        print("label-tuned batch baseline: skipped (needs scipy and scikit-learn: "
              ".venv/bin/pip install scipy scikit-learn)")
        return
    from bot.dedup.text import content_words, stem

    records = uci_records(DEFAULT_UCI, "timestamp")
    docs = [" ".join(stem(w) for w in content_words(r["title"])) for r in records]
    gold = {str(r["id"]): r["story"] for r in records}
    ids = [str(r["id"]) for r in records]
    for ngrams in ((1, 1), (1, 2)):
        vectors = TfidfVectorizer(ngram_range=ngrams, sublinear_tf=True).fit_transform(docs).toarray()
        distances = np.nan_to_num(pdist(vectors, "cosine"), nan=1.0)
        for method in ("average", "complete", "weighted", "single"):
            tree = linkage(distances, method)
            scored = []
            for cut in np.arange(0.3, 1.0, 0.02):
                pred = dict(zip(ids, fcluster(tree, cut, "distance"), strict=True))
                scored.append((bcubed(pred, gold), float(cut)))
            precise = [s for s in scored if s[0][0] >= TARGET_P]
            best_p = max(precise, key=lambda s: s[0][2]) if precise else None
            best = max(scored, key=lambda s: s[0][2])
            at_p = (f"P {best_p[0][0]:.3f} R {best_p[0][1]:.3f} F1 {best_p[0][2]:.3f} (cut {best_p[1]:.2f})"
                    if best_p else "none")
            print(f"label-tuned batch, TF-IDF {ngrams[1]}-grams, {method} link: best F1 with P >= 0.90: "
                  f"{at_p}; best F1 overall: P {best[0][0]:.3f} R {best[0][1]:.3f} F1 {best[0][2]:.3f}")


def _size(grid: dict[str, tuple[float, ...]]) -> int:
    return math.prod(len(values) for values in grid.values())


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[7],
                        help="shuffled orders to sweep besides timestamp order (default: 7)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a {_size(QUICK_GRID)}-setting grid, not {_size(GRID)}")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not DEFAULT_UCI.exists():
        print(f"UCI sample not found at {DEFAULT_UCI}")
        return 1
    tag = _tagger()
    orders = [("timestamp", 0), *(("shuffled", s) for s in args.seeds)]
    oracle(frontier(QUICK_GRID if args.quick else GRID, orders, tag))
    batch_baseline()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
