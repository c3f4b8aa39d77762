"""Dedup decisions must not depend on PYTHONHASHSEED (string hashing changes set iteration order,
and a float sum taken in another order can land on the other side of a threshold or break a tie
another way). The same articles are decided in two interpreters with different seeds.

Run as a script (``python tests/test_dedup_determinism.py OUT``) it ingests the labelled corpus
plus generated articles and writes every article's (guid, cluster_id, duplicate_of) to OUT.
The generated part (made-up words drawn from a small vocabulary, so articles share terms and
overlap scores tie or come close) is what exposed the dependence: the labelled corpus alone
happened to decide the same way under every seed tried.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "dedup" / "corpus.jsonl"
GENERATED = 400

_WORDS = ("Ukraine", "Russie", "Kiev", "Moscou", "OTAN", "sommet", "frappe", "drone", "missile", "Corée",
          "Séoul", "Pyongyang", "troupes", "ceasefire", "talks", "sanctions", "European", "Union",
          "minister", "president", "election", "Gaza", "Israel", "Iran", "Taiwan", "China", "economy",
          "inflation", "energy", "gas", "oil", "border", "army", "soldiers", "report", "officials", "said")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "dor", "fen", "gul", "har")


def _corpus() -> list:
    from bot.models import Article, RelatedLink

    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    records.sort(key=lambda r: (float(r["published"]), str(r["id"])))
    out = [
        Article(guid=str(r["id"]), link=r.get("url", ""), canonical_url=r.get("url", ""), title=r["title"],
                source=r.get("source", ""), published_at=float(r["published"]),
                fetched_at=float(r["published"]) + 60, summary=r.get("summary", ""),
                is_google_news=bool(r.get("is_google_news")),
                related=[RelatedLink(**x) for x in r.get("related", [])])
        for r in records
    ]
    return out


def _generated() -> list:
    from bot.models import Article

    out = []
    rng = random.Random(7)
    rare = sorted({"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(3000)})

    def sentence(n: int) -> str:
        return " ".join(rng.choice(rare) if rng.random() < 0.5 else rng.choice(_WORDS) for _ in range(n))

    start = 1.8e9
    for i in range(GENERATED):
        out.append(Article(
            guid=f"gen-{i}", link=f"https://news{i % 7}.example/a/{i}",
            canonical_url=f"https://news{i % 7}.example/a/{i}", title=sentence(rng.randint(6, 12)),
            source=f"Outlet {i % 7}", published_at=start + 60 * i, fetched_at=start + 60 * i + 30,
            summary=sentence(rng.randint(30, 80)),
        ))
    return out


def _replay(out: Path) -> None:
    import tempfile

    from bot.pipeline import dedup
    from bot.pipeline.store import open_database
    from bot.pipeline.store.articles import save_articles

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, articles in enumerate((_corpus(), _generated())):     # one store each
            db = open_database(Path(tmp) / f"news{n}.db")
            feed_id = int(db.execute(
                "INSERT INTO feeds (name, url, created_at) VALUES ('f', 'http://x.example/f', 0)"
            ).lastrowid)
            for article in articles:
                with db.atomic():
                    new, _, _ = save_articles(db, feed_id, [article], article.fetched_at)
                    dedup.process_articles(db, new, article.fetched_at)
            rows += db.execute("SELECT guid, cluster_id, duplicate_of FROM articles ORDER BY id").fetchall()
            db.conn.close()
    out.write_text(json.dumps(rows))


def _run(seed: str, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, __file__, str(out)], env=env, cwd=ROOT)


def test_decisions_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    outs = {seed: tmp_path / f"seed-{seed}.json" for seed in ("0", "1")}
    procs = [_run(seed, out) for seed, out in outs.items()]    # the two run side by side
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    first, second = (json.loads(out.read_text()) for out in outs.values())
    assert len(first) == len(second) > GENERATED
    differ = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert not differ, f"{len(differ)} articles decided differently, e.g. {differ[:3]}"


if __name__ == "__main__":
    _replay(Path(sys.argv[1]))
