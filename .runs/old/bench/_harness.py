"""Shared pieces of bench/crash_safety.py and bench/soak.py: servers in their own processes.

The process under test must not share a process with the servers it talks to: a SIGKILL must
not take the feed server or the fake Bot API down with it, and the soak's memory, thread and file
figures must be newsbot's alone. So both servers run here as subprocesses:

    python -m bench._harness feeds  --port-file F --feeds 40 [--grow 3] [--grow-every 0] [--faults 0.1]
    python -m bench._harness botapi --port-file F --log sent.jsonl [--faults 0.05] [--commands 1,2]

``feeds``: RSS feeds at ``/feed/<i>.xml`` that gain ``--grow`` entries each on the command
``grow`` (stdin) or every ``--grow-every`` seconds; ETag per version (304 on a match); every
entry ever served is tracked (stdin ``served`` prints them as JSON). ``--faults`` is the share
of requests answered by a random fault: 500/503, 429 with Retry-After, a slow answer (2-6 s), a
reset connection, an HTML page, a truncated body.

``botapi``: tests/fakebotapi.FakeBotAPI with every accepted sendMessage appended to a JSONL file
(written before the answer leaves, so a message Telegram "accepted" is always in the log).
``--faults`` is the probability, checked every second, of arming a fault on sendMessage: a 429
burst with retry_after 1-3 s, 500/502 answers, or dropped connections. ``--commands`` pushes a
random command (/digest, /search, /settings, /help) from one of those chats every few seconds.

Both print ``ready <port>`` on stdout and write the port to ``--port-file``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

COMMANDS = ["/digest", "/search sanctions", '/search "ceasefire', "/settings", "/help"]
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

WORDS = [
    "sanctions", "summit", "ceasefire", "border", "election", "parliament", "minister", "treaty",
    "protest", "embassy", "missile", "drone", "pipeline", "harvest", "tariff", "inflation", "refugees",
    "envoy", "coalition", "referendum", "strike", "frontier", "corridor", "negotiators", "monsoon",
    "satellite", "reactor", "uranium", "blockade", "convoy", "tribunal", "governor", "senate",
    "cabinet", "budget", "ports", "grain", "wheat", "copper", "lithium", "court", "verdict", "hostage"
]


# -- helpers for the parent ----------------------------------------------------------------------


def start_server(kind: str, workdir: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """Start ``python -m bench._harness KIND`` and wait for its port."""
    port_file = workdir / f"{kind}.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [PYTHON, "-m", "bench._harness", kind, "--port-file", str(port_file), *extra],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        stderr=open(workdir / f"{kind}.stderr", "w"),  # noqa: SIM115 - lives as long as the child
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited with {proc.returncode}; see {workdir}/{kind}.stderr")
        time.sleep(0.05)
    raise RuntimeError(f"{kind} server did not start")


def ask(proc: subprocess.Popen[str], command: str) -> str:
    """Send one stdin command to a harness server and read its one-line answer."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"harness server died answering {command!r}")
        if not line.startswith("ready"):
            return line.strip()


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def integrity_ok(db_path: Path) -> str:
    """``PRAGMA integrity_check`` on a fresh connection ("ok" when sound)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)
    finally:
        conn.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            with contextlib.suppress(json.JSONDecodeError):   # a line cut short by a kill
                out.append(json.loads(line))
    return out


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """Resident memory (kB), open file descriptors and threads of a process, from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_kb": rss, "fds": fds, "threads": threads}


def compare_deliveries(db_path: Path, log_path: Path) -> dict[str, object]:
    """The journal (what should have gone out) against the fake's log (what went out).

    Per chat, the messages received are aligned in order with the journaled parts (run by run,
    part by part). The same text may legitimately be journaled more than once (two "nothing new"
    notices), so parts are matched by position, not by text: a received text equal to the next
    expected part is that part; equal to a part already matched, a duplicate; equal to a later
    part, an out-of-order delivery; anything else is not from the journal (command replies).
    """
    conn = sqlite3.connect(str(db_path))
    rows = conn.execute(
        "SELECT r.chat_id, r.id, p.seq, p.text, p.status, p.sent_at FROM digest_parts p "
        "JOIN digest_runs r ON r.id = p.run_id ORDER BY r.chat_id, r.id, p.seq"
    ).fetchall()
    runs_multi = conn.execute(
        "SELECT COUNT(*) FROM (SELECT run_id FROM digest_parts GROUP BY run_id HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    runs = conn.execute("SELECT COUNT(*) FROM digest_runs").fetchone()[0]
    conn.close()
    expected: dict[int, list[tuple[str, float | None]]] = {}
    for chat_id, _run, _seq, text, _status, at in rows:
        expected.setdefault(chat_id, []).append((text, at))
    received: dict[int, list[tuple[str, float]]] = {}
    for rec in read_jsonl(log_path):
        received.setdefault(int(rec["chat_id"]), []).append((rec["text"], rec["t"]))
    duplicates = missing = out_of_order = unexpected = 0
    disordered: set[int] = set()
    windows: list[float] = []
    for chat_id in set(expected) | set(received):
        want = expected.get(chat_id, [])
        texts = [t for t, _ in want]
        i = matched = 0
        for text, t in received.get(chat_id, []):
            if i < len(want) and text == texts[i]:
                if want[i][1] is not None:
                    windows.append(want[i][1] - t)
                i += 1
                matched += 1
            elif text in texts[:i]:
                duplicates += 1
            elif text in texts[i:]:
                out_of_order += 1
                disordered.add(chat_id)
                i = texts.index(text, i) + 1
                matched += 1
            else:
                unexpected += 1
        missing += len(want) - matched
    return {
        "chats": len(expected), "runs": runs, "multi_part_runs": runs_multi,
        "parts_expected": len(rows), "parts_received": sum(len(v) for v in received.values()),
        "duplicates": duplicates, "missing": missing, "unexpected": unexpected,
        "out_of_order": out_of_order, "chats_out_of_order": len(disordered),
        "part_states": dict(Counter(r[4] for r in rows)), "window_ms": _window_figures(windows),
    }


def _window_figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = sorted(v * 1000 for v in values)
    return {"n": len(ms), "median": round(statistics.median(ms), 2),
            "p99": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2), "max": round(ms[-1], 2)}


# -- feed server ---------------------------------------------------------------------------------


SYLLABLES = [
    "ka", "lo", "mi", "ren", "tus", "va", "bor", "ne", "qui", "dal", "fen", "gor", "hu", "jas", "pli",
    "tor", "zen", "mar", "sol", "vek"
]


def entry_title(feed: int, n: int, words: int = 6) -> str:
    """A headline unique to (feed, n): a few news words and made-up names, so that dedup keeps
    different entries apart (made-up words are never shared by chance)."""
    rng = random.Random(feed * 1_000_003 + n)
    names = ["".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() for _ in range(max(1, words - 2))]
    return f"{' '.join(rng.sample(WORDS, 2)).capitalize()} {' '.join(names)} ({feed}-{n})"


class FeedSim:
    """The feeds' contents and what was served (thread-safe)."""

    def __init__(self, feeds: int, grow: int, window: int, faults: float, seed: int, words: int = 6):
        self.words = words
        self.lock = threading.Lock()
        self.grow_by = grow
        self.window = window
        self.faults = faults
        self.rng = random.Random(seed)
        self.created: list[list[float]] = [[] for _ in range(feeds)]   # creation time per entry
        self.served: list[set[int]] = [set() for _ in range(feeds)]
        self.requests = 0
        self.faulted = 0
        self.grow()

    def grow(self) -> int:
        with self.lock:
            now = time.time()
            for entries in self.created:
                entries.extend(now for _ in range(self.grow_by))
            return sum(len(e) for e in self.created)

    def body(self, feed: int) -> tuple[bytes, str]:
        """The feed's RSS document (newest first) and its ETag; marks its entries served."""
        with self.lock:
            entries = self.created[feed]
            first = max(0, len(entries) - self.window) if self.window else 0
            shown = range(len(entries) - 1, first - 1, -1)
            self.served[feed].update(shown)
            items = "".join(
                f"<item><title>{escape(entry_title(feed, n, self.words))}</title>"
                f"<link>https://feed{feed}.example/story/{n}</link><guid>f{feed}-e{n}</guid>"
                f"<pubDate>{formatdate(entries[n], usegmt=True)}</pubDate>"
                f"<description>Story {n} of feed {feed}: {escape(entry_title(feed, n + 7))}.</description>"
                "</item>"
                for n in shown
            )
            etag = f'"{feed}-{len(entries)}-{first}"'
        doc = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               f"<title>Feed {feed}</title><link>https://feed{feed}.example/</link>{items}</channel></rss>")
        return doc.encode(), etag

    def fault(self) -> str | None:
        with self.lock:
            self.requests += 1
            if self.faults <= 0 or self.rng.random() >= self.faults:
                return None
            self.faulted += 1
            return self.rng.choice(["500", "503", "429", "slow", "reset", "html", "truncated"])


def _feed_handler(sim: FeedSim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            try:
                feed = int(self.path.removeprefix("/feed/").removesuffix(".xml"))
                assert 0 <= feed < len(sim.created)
            except (ValueError, AssertionError):
                self._send(404, b"not found", "text/plain")
                return
            fault = sim.fault()
            if fault == "reset":
                self.close_connection = True
                return
            if fault in ("500", "503"):
                self._send(int(fault), b"oops", "text/plain")
                return
            if fault == "429":
                self._send(429, b"slow down", "text/plain", {"Retry-After": "20"})
                return
            if fault == "html":
                self._send(200, b"<html><body>maintenance</body></html>", "text/html")
                return
            if fault == "slow":
                time.sleep(random.uniform(2, 6))
            body, etag = sim.body(feed)
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", None, {"ETag": etag})
                return
            if fault == "truncated":
                body = body[: len(body) // 2]
            self._send(200, body, "application/rss+xml; charset=utf-8", {"ETag": etag})

        def _send(
            self, status: int, body: bytes, ctype: str | None, extra: dict[str, str] | None = None
        ) -> None:
            try:
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def serve_feeds(args: argparse.Namespace) -> None:
    sim = FeedSim(args.feeds, args.grow, args.window, args.faults, args.seed, args.title_words)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _feed_handler(sim))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    if args.grow_every > 0:
        def grower() -> None:
            while True:
                time.sleep(args.grow_every)
                sim.grow()
        threading.Thread(target=grower, daemon=True).start()
    _announce(args.port_file, httpd.server_address[1])
    for line in sys.stdin:
        command = line.strip()
        if command == "grow":
            print(f"ok {sim.grow()}", flush=True)
        elif command == "served":
            with sim.lock:
                served = {str(i): sorted(s) for i, s in enumerate(sim.served)}
            print(json.dumps(served), flush=True)
        elif command == "stats":
            with sim.lock:
                print(json.dumps({"requests": sim.requests, "faulted": sim.faulted,
                                  "entries": sum(len(e) for e in sim.created)}), flush=True)
        elif command == "quit":
            break
        else:
            print(f"unknown {command}", flush=True)
    httpd.shutdown()


# -- fake Bot API --------------------------------------------------------------------------------


def serve_botapi(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fakebotapi import FakeBotAPI

    log = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - the process's lifetime
    log_lock = threading.Lock()

    class LoggingFake(FakeBotAPI):
        async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
            message = await super()._m_sendmessage(params)
            with log_lock:
                log.write(json.dumps({"chat_id": message["chat"]["id"], "message_id": message["message_id"],
                                      "text": params["text"], "t": time.time()}) + "\n")
                log.flush()
            return message

    fake = LoggingFake().start()
    rng = random.Random(args.seed)
    armed = {"429": 0, "5xx": 0, "reset": 0}
    if args.faults > 0:
        def faults() -> None:
            while True:
                time.sleep(1.0)
                if rng.random() >= args.faults:
                    continue
                kind = rng.choice(["429", "5xx", "reset"])
                armed[kind] += 1
                if kind == "429":
                    fake.fail_next("sendMessage", 429, n=rng.randint(1, 4), retry_after=rng.randint(1, 3))
                elif kind == "5xx":
                    fake.fail_next("sendMessage", rng.choice([500, 502]), n=rng.randint(1, 2))
                else:
                    fake.reset_connections(1, "sendMessage")
        threading.Thread(target=faults, daemon=True).start()
    chats = [int(c) for c in args.commands.split(",") if c] if args.commands else []
    if chats:
        def commands() -> None:
            while True:
                time.sleep(rng.uniform(3, 8))
                text = rng.choice(COMMANDS)
                fake.push_command(rng.choice(chats), text, language_code=rng.choice(["fr", "en"]))
        threading.Thread(target=commands, daemon=True).start()
    _announce(args.port_file, fake.port)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            with fake._lock:                      # noqa: SLF001 - our own subclass's state
                errors: dict[str, int] = {}
                for _method, status, _desc in fake.errors:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                print(json.dumps({"sent": len(fake.sent), "calls": len(fake.calls), "errors": errors,
                                  "armed": armed}), flush=True)
        elif command == "quit":
            break
        else:
            print(f"unknown {command}", flush=True)
    fake.stop()


def _announce(port_file: str, port: int) -> None:
    tmp = Path(port_file + ".tmp")
    tmp.write_text(str(port))
    tmp.rename(port_file)
    print(f"ready {port}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench._harness")
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("feeds")
    p.add_argument("--port-file", required=True)
    p.add_argument("--feeds", type=int, default=20)
    p.add_argument("--grow", type=int, default=3, help="entries added to each feed per growth step")
    p.add_argument("--grow-every", type=float, default=0.0, help="seconds between automatic growth steps")
    p.add_argument("--window", type=int, default=0, help="entries shown per feed (0 = all)")
    p.add_argument("--faults", type=float, default=0.0, help="share of requests given a random fault")
    p.add_argument("--title-words", type=int, default=6, help="words per headline")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("botapi")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--faults", type=float, default=0.0)
    p.add_argument("--commands", default="", help="comma-separated chat ids that send commands")
    p.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    (serve_feeds if args.kind == "feeds" else serve_botapi)(args)


if __name__ == "__main__":
    main()
