"""How far arrival order changes the clusters: the labelled corpus stored in shuffled orders.

    .venv/bin/python bench/order_sensitivity.py [--seeds 1 2 3 4 5 6 7 8] [--jitter-hours 1]

Each article keeps its published time; only the order in which articles reach the store
changes (each one's arrival moved within ±``--jitter-hours`` of its published time, as feeds
polled side by side finish in any order). Every order runs through the real path
(bench/dedup_quality.py's ``ingest``: SQLite, ``save_articles`` + ``process_articles``) and is
compared with the published-time order: B-cubed F1 against the labels, B-cubed agreement with
the time-order clusters (1.000: the same clusters), hard-negative merges, and whether the seed
story (``nk-kursk``) stays one cluster.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dedup_quality import (  # noqa: E402
    DEFAULT_CORPUS,
    _hard_negative_merges,
    _tagger,
    bcubed,
    cross_language,
    ingest,
)

SEED_STORY = "nk-kursk"


def arrival(records: list[dict[str, Any]], seed: int | None, jitter_hours: float) -> list[dict[str, Any]]:
    """The records in arrival order: published-time order (``seed`` None) or jittered."""
    rng = random.Random(seed)
    def key(r: dict[str, Any]) -> tuple[float, str]:
        shift = 0.0 if seed is None else rng.uniform(-jitter_hours, jitter_hours) * 3600.0
        return float(r["published"]) + shift, str(r["id"])
    keyed = [(key(r), r) for r in records]
    return [r for _, r in sorted(keyed, key=lambda kr: kr[0])]


def run(records: list[dict[str, Any]], tag: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """record id -> cluster, and record id -> its duplicate group's first-stored record."""
    with tempfile.TemporaryDirectory() as tmp:
        decided, _ = ingest(records, Path(tmp) / "order.db", tag)
    return ({rid: d["cluster"] for rid, d in decided.items()},
            {rid: d["dup_root"] for rid, d in decided.items()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--jitter-hours", type=float, default=1.0)
    args = ap.parse_args(argv)
    tag = _tagger()
    lines = args.corpus.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    gold = {str(r["id"]): r["story"] for r in records}
    base, base_dup = run(arrival(records, None, 0.0), tag)
    seed_ids = [str(r["id"]) for r in records if r["story"] == SEED_STORY]
    def line(name: str, decided: tuple[dict[str, Any], dict[str, Any]]) -> tuple[float, float, bool, int]:
        pred, dup = decided
        p, r, f = bcubed(pred, gold)
        merges = _hard_negative_merges(records, pred, dup)
        agree = bcubed(pred, base)[2]
        joined, total = cross_language(records, pred)
        whole = len({pred[i] for i in seed_ids}) == 1
        print(f"{name:>14}: B-cubed P {p:.3f} R {r:.3f} F1 {f:.3f}; agreement with time order {agree:.3f}; "
              f"{len(set(pred.values()))} clusters; {merges} hard-negative merges; FR-EN {joined}/{total}; "
              f"seed story "
              f"{'one cluster' if whole else 'split in ' + str(len({pred[i] for i in seed_ids}))}")
        return f, agree, whole, merges
    line("time order", (base, base_dup))
    results = [line(f"±{args.jitter_hours:g} h seed {s}", run(arrival(records, s, args.jitter_hours), tag))
               for s in args.seeds]
    n = len(results)
    print(f"over {n} orders: mean F1 {sum(r[0] for r in results) / n:.3f} "
          f"(min {min(r[0] for r in results):.3f}); mean agreement {sum(r[1] for r in results) / n:.3f} "
          f"(min {min(r[1] for r in results):.3f}); "
          f"seed story one cluster in {sum(r[2] for r in results)}/{n}; "
          f"orders with a hard-negative merge: {sum(1 for r in results if r[3])}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
