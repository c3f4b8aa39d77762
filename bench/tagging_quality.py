"""Tagging quality on the labelled headlines: micro precision and recall with the shipped taxonomy.

    .venv/bin/python bench/tagging_quality.py            # figures per file and overall
    .venv/bin/python bench/tagging_quality.py --errors   # plus every wrong or missed tag

Reads config.example.toml through bot.config.load_config (so it measures exactly what ships) and
every ``tests/data/tagging/*.jsonl`` file (one headline per line: title, summary, lang, tags).
Targets: precision >= 0.97, recall >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.pipeline.tagging import Tagger  # noqa: E402

DATA = ROOT / "tests" / "data" / "tagging"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.errors += other.errors


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_file(tagger: Tagger, path: Path) -> tuple[Score, int]:
    score = Score()
    cases = load_cases(path)
    for number, case in enumerate(cases, 1):
        got = tagger.tag(case["title"], case.get("summary", ""))
        expected = set(case["tags"])
        found = set(got)
        score.tp += len(expected & found)
        score.fp += len(found - expected)
        score.fn += len(expected - found)
        for tag in sorted(found - expected):
            score.errors.append(f"{path.name}:{number}: extra {tag} (matched {got[tag]!r}): {case['title']}")
        for tag in sorted(expected - found):
            score.errors.append(f"{path.name}:{number}: missed {tag}: {case['title']}")
    return score, len(cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every wrong or missed tag")
    parser.add_argument("--config", default=str(ROOT / "config.example.toml"))
    args = parser.parse_args()
    config = load_config(args.config)
    tagger = Tagger.from_config(config.tags)
    print(f"taxonomy: {len(config.tags)} tags, {sum(len(t.keywords) for t in config.tags)} keywords "
          f"({args.config})")
    total = Score()
    count = 0
    for path in sorted(DATA.glob("*.jsonl")):
        score, n = score_file(tagger, path)
        count += n
        print(f"{path.name:<20} {n:>4} headlines  precision {score.precision:.3f}  "
              f"recall {score.recall:.3f}  (tp {score.tp}, fp {score.fp}, fn {score.fn})")
        total.add(score)
    print(f"{'all':<20} {count:>4} headlines  precision {total.precision:.3f}  "
          f"recall {total.recall:.3f}  (tp {total.tp}, fp {total.fp}, fn {total.fn})")
    print("targets: precision >= 0.97, recall >= 0.95:",
          "met" if total.precision >= 0.97 and total.recall >= 0.95 else "NOT met")
    if args.errors:
        print("\n".join(total.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
