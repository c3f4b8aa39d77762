"""What naming a feed's publisher costs (bot/publisher.py), once per parsed feed.

    .venv/bin/python bench/publisher_names.py [--rounds 2000]

Titles and site links of the real captures (tests/data/feeds-real, plus ../shared/feeds-real
when present), then a worst case: a 200-character title (the cap parse.py applies) that names
nothing, so every span of every segment is compared with the domain and a subdomain. Prints the
time per call (median of 5 runs), the one-off cost of loading the bundled suffix list, and the
names found.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402  (bench only: reads the captures' titles)

from bot import publisher  # noqa: E402


def captures() -> list[tuple[str, str, str]]:
    found = {}
    for folder in (ROOT / "tests" / "data" / "feeds-real", ROOT.parent / "shared" / "feeds-real"):
        for path in sorted(folder.glob("*")) if folder.exists() else []:
            if path.suffix in (".xml", ".atom") and path.name not in found:
                feed = feedparser.parse(path.read_bytes()).feed
                found[path.name] = (path.name, feed.get("title", ""), feed.get("link", ""))
    return list(found.values())


def per_call(calls: list[tuple[str, str]], rounds: int) -> float:
    """Median seconds per call over 5 runs of ``rounds`` passes."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            for title, site in calls:
                publisher.publisher_name(title, site)
        runs.append((time.perf_counter() - start) / (rounds * len(calls)))
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    publisher._extractor.cache_clear()
    start = time.perf_counter()
    publisher.publisher_name("x", "https://www.example.com/")
    print(f"suffix list snapshot loaded in {1000 * (time.perf_counter() - start):.0f} ms (once per process)")
    real = captures()
    for name, title, site in real:
        print(f"  {name:48} {publisher.publisher_name(title, site)!r}")
    calls = [(title, site) for _, title, site in real]
    print(f"{len(real)} captures: {1e6 * per_call(calls, args.rounds):.0f} µs per call (median of 5)")
    worst = (" ".join(f"word{i}" for i in range(40))[:200], "https://www.some-long-name.example.co.uk/")
    print(f"worst case, 200-char title naming nothing: "
          f"{1e3 * per_call([worst], max(1, args.rounds // 20)):.2f} ms per call (median of 5)")


if __name__ == "__main__":
    main()
