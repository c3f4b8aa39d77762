"""Canonical URLs: url-normalize vs w3lib under our tracking-parameter layer (issue 11 item 5).

    .venv/bin/python bench/canonical_url.py [--rounds 20] [--store 100000]

URLs: every link of the real captured feeds (tests/data/feeds-real and ../shared/feeds-real:
entry links, <link> elements, <source> URLs, Google News related coverage, hrefs in summaries
and contents) plus the hostile spellings listed in issue 11. Four functions are run on the same
URLs in the same process:

  - ``current``: canonical_url as shipped before issue 11 (frozen copy below: urlsplit, tracking
    parameters out, the rest sorted, nothing else normalised);
  - ``w3lib (shipped)`` and ``url-normalize``: ``bot.pipeline.parse.normalize.canonical_url_with``
    (the same glue: scheme check, NFC, ``&amp;`` decoding, fragment and default port dropped, tracking list,
    Google News query kept whole) on top of ``w3lib.url.canonicalize_url`` (what
    ``canonical_url`` ships) or ``url_normalize.url_normalize``;
  - the two libraries alone, for what the glue costs.

Reports URLs/s (best of 5 interleaved passes of ``--rounds`` rounds each) with the ratio to ``current``,
a pass/fail table of the correctness cases, how many real URLs get a different key than today
(what the store migration rewrites) and how long that migration takes on a ``--store``-row table.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from url_normalize import url_normalize  # noqa: E402
from w3lib.url import canonicalize_url  # noqa: E402

from bot.pipeline.parse.normalize import (  # noqa: E402
    DEFAULT_PORTS,
    OPAQUE_QUERY_HOSTS,
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    canonical_url_with,
)
from bot.pipeline.store.schema import recanonicalise_urls  # noqa: E402

FEED_DIRS = [ROOT / "tests" / "data" / "feeds-real", ROOT.parent / "shared" / "feeds-real"]
HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)

# -- the shipped implementation before issue 11, frozen as the baseline -------------------------


def _old_is_tracking(name: str) -> bool:
    key = unquote(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _old_clean_query(query: str) -> str:
    if not query:
        return ""
    kept = [p for p in query.split("&") if p and not _old_is_tracking(p.split("=", 1)[0])]
    kept.sort(key=lambda p: p.split("=", 1)[0])
    return "&".join(kept)


def current(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return url
        host = parts.hostname.rstrip(".")
        port = parts.port
    except ValueError:
        return url
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    query = parts.query if host in OPAQUE_QUERY_HOSTS else _old_clean_query(parts.query)
    return urlunsplit((scheme, netloc, parts.path or "/", query, "")).strip()


def on_url_normalize(url: str) -> str:
    return canonical_url_with(url, url_normalize)


CANDIDATES: dict[str, Callable[[str], str]] = {
    "current": current,
    "w3lib (shipped)": canonical_url,
    "url-normalize": on_url_normalize,
    "url_normalize alone": lambda u: url_normalize(u) or "",
    "canonicalize_url alone": canonicalize_url,
}
COMPARED = ["current", "w3lib (shipped)", "url-normalize"]

# -- correctness cases ---------------------------------------------------------------------------

GN = "https://news.google.com/rss/articles/CBMiWmh0dHBz?hl=en-US&gl=US&ceid=US:en&oc=5"
# (name, spellings that must give one key, the key they must give or None for "any one key")
SAME_KEY: list[tuple[str, list[str], str | None]] = [
    ("dot segments resolved", ["https://ex.com/a/../b/./c", "https://ex.com/b/c"], "https://ex.com/b/c"),
    ("percent case, é == %C3%A9",
     ["https://ex.com/caf%c3%a9", "https://ex.com/caf%C3%A9", "https://ex.com/café"], None),
    ("IDN host: one key", ["https://bücher.de/x", "https://xn--bcher-kva.de/x", "https://BÜCHER.de/x"], None),
    ("&amp; decoded before splitting",
     ["https://ex.com/a?id=1&amp;utm_source=rss", "https://ex.com/a?id=1"], "https://ex.com/a?id=1"),
    ("tracking removed (utm_*, fbclid, gclid, xtor)",
     ["https://ex.com/a?utm_source=x&fbclid=y&gclid=z&xtor=RSS-1&id=1", "https://ex.com/a?id=1"],
     "https://ex.com/a?id=1"),
    ("fragment dropped", ["https://ex.com/a#top", "https://ex.com/a"], "https://ex.com/a"),
    ("default port dropped", ["https://ex.com:443/a", "https://ex.com/a"], "https://ex.com/a"),
    ("host lower-cased", ["https://WWW.Ex.COM/a", "https://www.ex.com/a"], "https://www.ex.com/a"),
    ("Google News query kept whole", [GN, GN + "#x"], GN),
    ("other parameters sorted", ["https://ex.com/a?b=2&a=1", "https://ex.com/a?a=1&b=2"],
     "https://ex.com/a?a=1&b=2"),
]
NOT_HTTP = ["javascript:alert(1)", "mailto:a@b.c", "", "not a url", "http://[::1"]
HOSTILE = [u for _, spellings, _ in SAME_KEY for u in spellings] + [
    "http://a..b/x", "http://" + "a" * 70 + ".com/", "http://ex.com/a b?c d=e f", "http://0\u2024",
    "http://[::1]:80/x", "https://user:pw@ex.com:443/x", "http://ex.com:99999/x", "http://ex.com/%zz%",
]


def case_results(fn: Callable[[str], str]) -> list[tuple[str, bool]]:
    out = []
    for name, spellings, expected in SAME_KEY:
        keys = {fn(u) for u in spellings}
        out.append((name, len(keys) == 1 and (expected is None or keys == {expected})))
    out.append(("non-HTTP input left alone", all(fn(u) == u.strip() for u in NOT_HTTP)))
    return out


def idempotent_share(fn: Callable[[str], str], urls: list[str]) -> tuple[int, int]:
    """(URLs whose key is its own key, URLs that raised)."""
    ok = raised = 0
    for url in urls:
        try:
            once = fn(url)
            ok += fn(once) == once
        except Exception:
            raised += 1
    return ok, raised


# -- inputs and timing -----------------------------------------------------------------------------


def real_urls() -> list[str]:
    """Every link of the captured feeds, in file order, each once."""
    import feedparser

    from bot.pipeline.parse.feed import parse_related

    urls: list[str] = []
    for folder in FEED_DIRS:
        for path in sorted(folder.glob("*.*")):
            if path.suffix not in (".xml", ".atom", ".rss", ".rdf"):
                continue
            parsed = feedparser.parse(path.read_bytes())
            urls += [parsed.feed.get("link", "")] + [x.get("href", "") for x in parsed.feed.get("links", [])]
            for entry in parsed.entries:
                urls += [entry.get("link", ""), entry.get("id", "")]
                urls += [x.get("href", "") for x in entry.get("links", [])]
                urls.append(entry.get("source", {}).get("href", ""))
                contents = [c.get("value", "") for c in entry.get("content", [])]
                urls += HREF.findall(entry.get("summary", "") + "".join(contents))
                urls += [r.url for r in parse_related(entry.get("summary", ""))]
    return [u for u in dict.fromkeys(urls) if u.lower().startswith(("http://", "https://"))]


def urls_per_second(fns: dict[str, Callable[[str], str]], urls: list[str], rounds: int,
                    trials: int = 5) -> dict[str, float]:
    """Best of ``trials`` timed passes per function, the functions taking turns within each trial
    (the machine is shared: a load spike then hits every candidate, not one)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(trials):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(rounds):
                for url in urls:
                    fn(url)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(urls) * rounds / seconds for name, seconds in best.items()}


def migration_seconds(urls: list[str], rows: int) -> tuple[float, int]:
    """Time recanonicalise_urls on a real store (open_database: every index and the FTS5
    triggers that re-index a row on UPDATE) of ``rows`` articles keyed as before issue 11."""
    from bot.pipeline.store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "m.db")
        feed = db.execute("INSERT INTO feeds (name, url, created_at) VALUES ('f', 'http://f/', 0)").lastrowid
        links = (urls[i % len(urls)] for i in range(rows))
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO articles (feed_id, guid, link, canonical_url, title, summary, published_at, "
                "fetched_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0)",
                ((feed, str(i), u, current(u), f"Headline number {i} about {u[-20:]}", "Summary text " * 20)
                 for i, u in enumerate(links)))
        start = time.perf_counter()
        with db.atomic():
            changed = recanonicalise_urls(db.conn)
        elapsed = time.perf_counter() - start
        db.conn.close()
    return elapsed, changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--store", type=int, default=100_000, help="rows for the migration timing (0: skip)")
    args = ap.parse_args()
    urls = real_urls()
    print(f"{len(urls)} distinct real URLs from {len(FEED_DIRS)} folders, {len(HOSTILE)} hostile spellings; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")

    print(f"{'function':24} {'URLs/s':>10} {'vs current':>11}")
    speeds = urls_per_second(CANDIDATES, urls, args.rounds)
    for name, speed in speeds.items():
        print(f"{name:24} {speed:10,.0f} {speed / speeds['current']:10.2f}x")

    print(f"\n{'case':48} " + " ".join(f"{n:>14}" for n in COMPARED))
    results = {name: case_results(CANDIDATES[name]) for name in COMPARED}
    for i, (case, _) in enumerate(results["current"]):
        print(f"{case:48} " + " ".join(f"{'ok' if results[n][i][1] else 'FAIL':>14}" for n in COMPARED))
    for name in COMPARED:
        passed = sum(ok for _, ok in results[name])
        ok, raised = idempotent_share(CANDIDATES[name], urls + HOSTILE)
        keys = len({CANDIDATES[name](u) for u in urls})
        print(f"{name}: {passed}/{len(results[name])} cases; idempotent on {ok}/{len(urls) + len(HOSTILE)} "
              f"URLs, {raised} raised; {keys} distinct keys for {len(urls)} real URLs")

    changed = [(current(u), canonical_url(u)) for u in urls if current(u) != canonical_url(u)]
    print(f"\nreal URLs whose key changes from current to shipped: {len(changed)}/{len(urls)}")
    for old, new in changed[:8]:
        print(f"  {old}\n    -> {new}")
    if args.store:
        seconds, rewritten = migration_seconds(urls, args.store)
        print(f"\nmigration on {args.store:,} stored articles: {seconds:.2f} s "
              f"({args.store / seconds:,.0f} rows/s), {rewritten:,} rows rewritten")


if __name__ == "__main__":
    main()
