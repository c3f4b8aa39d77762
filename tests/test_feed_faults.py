"""Feed faults end to end: real HTTP on 127.0.0.1 → poll_once → a real SQLite file.

Every test polls a healthy control feed next to the faulty one and checks the same contract:
the faulty feed ends as a recorded error on its own row (message, error count, a next due time in
the future), the control feed's articles all arrive and its row stays clean, nothing raises and
nothing hangs past the configured deadline. Fetcher-level details (exact messages for each httpx
failure) are in tests/test_fetch.py; this file checks what the pipeline records.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from pathlib import Path

import pytest

from bot.models import FeedPollOutcome
from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor, open_database
from bot.pipeline.store.feeds import feed_state
from tests.feedserver import FeedServer
from tests.helpers import load, rss, write_config

CONTROL_ITEMS = [("c1", "Control one"), ("c2", "Control two"), ("c3", "Control three")]
FEED_ITEMS = [("f1", "Faulty one"), ("f2", "Faulty two")]


def fast_config(tmp_path: Path, feeds: dict[str, str]) -> Path:
    """write_config with the shortest deadlines the config accepts: hanging servers cost ~1 s."""
    cfg = write_config(tmp_path, feeds)
    text = cfg.read_text(encoding="utf-8")
    text = text.replace('timeout = "2s"', 'timeout = "1s"', 1).replace('connect_timeout = "1s"',
                                                                     'connect_timeout = "0.5s"', 1)
    cfg.write_text(text, encoding="utf-8")
    return cfg


def poll(cfg: Path) -> dict[str, FeedPollOutcome]:
    config = load(cfg)
    executor = DbExecutor(config.storage.path)
    try:
        return {o.feed: o for o in asyncio.run(poll_once(config, executor))}
    finally:
        executor.close()


def run_with_control(server: FeedServer, tmp_path: Path, url: str) -> tuple[FeedPollOutcome, dict, float]:
    """Poll ``url`` as feed "faulty" next to a healthy "control" feed; check the control side.

    Returns the faulty feed's outcome, its stored state and the wall time of the whole poll.
    """
    server.route("/control.xml", rss(CONTROL_ITEMS))
    cfg = fast_config(tmp_path, {"control": server.url("/control.xml"), "faulty": url})
    started = time.monotonic()
    outcomes = poll(cfg)
    elapsed = time.monotonic() - started
    db = open_database(load(cfg).storage.path)
    try:
        control = feed_state(db, "control")
        assert outcomes["control"].status == "ok" and outcomes["control"].new == len(CONTROL_ITEMS)
        assert control["error_count"] == 0 and control["last_error"] is None and control["last_status"] == 200
        rows = db.execute(
            "SELECT f.name, a.guid FROM articles a JOIN feeds f ON f.id = a.feed_id ORDER BY a.guid"
        ).fetchall()
        assert rows == [("control", g) for g, _ in CONTROL_ITEMS]       # nothing from the faulty feed
        faulty = feed_state(db, "faulty")
    finally:
        db.close()
    outcome = outcomes["faulty"]
    assert outcome.status == "error" and outcome.error
    assert faulty["error_count"] == 1 and faulty["last_error"] == outcome.error[:1000]
    assert faulty["last_success_at"] is None
    assert faulty["next_due_at"] > faulty["last_attempt_at"]           # backed off, not retried at once
    return outcome, faulty, elapsed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- time ---------------------------------------------------------------------------------------


def test_server_that_accepts_and_never_answers(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.hang("/hang.xml")
    outcome, _, elapsed = run_with_control(feed_server, tmp_path, feed_server.url("/hang.xml"))
    assert outcome.error == "timed out after 1s"
    assert elapsed < 5


def test_server_sending_a_byte_a_second(feed_server: FeedServer, tmp_path: Path) -> None:
    # The read timeout never trips (a byte arrives every second); the total deadline does.
    feed_server.drip("/drip.xml", rss(FEED_ITEMS), bytes_per_second=1)
    outcome, _, elapsed = run_with_control(feed_server, tmp_path, feed_server.url("/drip.xml"))
    assert outcome.error == "timed out after 1s"
    assert elapsed < 5


# -- broken bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0.5, 0.98], ids=["half", "trailer-missing"])
def test_truncated_gzip(feed_server: FeedServer, tmp_path: Path, cut: float) -> None:
    # A cut-off gzip stream must not be parsed as the feed: the part before the cut would be
    # ingested (a bozo feed still yields entries) and overwrite stored summaries with cut text.
    packed = gzip.compress(rss([(f"f{i}", f"Faulty {i}") for i in range(40)]).encode())
    feed_server.route("/cut.xml", packed[: int(len(packed) * cut)], headers={"Content-Encoding": "gzip"})
    outcome, _, _ = run_with_control(feed_server, tmp_path, feed_server.url("/cut.xml"))
    assert outcome.error.startswith("cannot decode gzip body: truncated")


def test_corrupt_gzip(feed_server: FeedServer, tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(rss(FEED_ITEMS).encode()))
    packed[20:40] = b"\xff" * 20
    feed_server.route("/bad.xml", bytes(packed), headers={"Content-Encoding": "gzip"})
    outcome, _, _ = run_with_control(feed_server, tmp_path, feed_server.url("/bad.xml"))
    assert outcome.error.startswith("cannot decode gzip body")


@pytest.mark.parametrize("body", [b"", b"   \r\n\t  "], ids=["empty", "whitespace"])
def test_200_with_an_empty_body(feed_server: FeedServer, tmp_path: Path, body: bytes) -> None:
    feed_server.route("/empty.xml", body)
    outcome, state, _ = run_with_control(feed_server, tmp_path, feed_server.url("/empty.xml"))
    assert outcome.error == "empty response" and state["last_status"] == 200


def test_body_cut_short_of_its_content_length(tmp_path: Path) -> None:
    # A raw socket server: promises 5,000 bytes, sends 100, closes.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Content-Length: 5000\r\n\r\n" + rss(FEED_ITEMS).encode()[:100])

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with FeedServer() as control_server:
            outcome, _, _ = run_with_control(control_server, tmp_path, f"http://127.0.0.1:{port}/f.xml")
    finally:
        thread.join(timeout=5)
        server.close()
    assert outcome.error.startswith("server broke the connection")


# -- not what was asked for ------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "text/plain; charset=utf-8", "application/octet-stream", "text/html; charset=utf-8", "",
])
def test_feed_with_a_wrong_content_type_is_still_parsed(
    feed_server: FeedServer, tmp_path: Path, content_type: str
) -> None:
    # What the body is decides, not what the server claims it is.
    feed_server.route("/control.xml", rss(CONTROL_ITEMS))
    feed_server.route("/odd.xml", rss(FEED_ITEMS), content_type=content_type)
    cfg = fast_config(tmp_path, {"control": feed_server.url("/control.xml"),
                                  "odd": feed_server.url("/odd.xml")})
    outcomes = poll(cfg)
    assert outcomes["odd"].status == "ok" and outcomes["odd"].new == len(FEED_ITEMS)
    assert outcomes["control"].new == len(CONTROL_ITEMS)
    db = open_database(load(cfg).storage.path)
    assert feed_state(db, "odd")["error_count"] == 0
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == len(FEED_ITEMS) + len(CONTROL_ITEMS)


@pytest.mark.parametrize("content_type", [
    "text/html; charset=utf-8", "application/rss+xml", "text/plain", "application/octet-stream",
])
def test_html_page_is_not_a_feed_whatever_its_content_type(
    feed_server: FeedServer, tmp_path: Path, content_type: str
) -> None:
    page = "<!doctype html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    feed_server.route("/page", page, content_type=content_type)
    outcome, _, _ = run_with_control(feed_server, tmp_path, feed_server.url("/page"))
    assert outcome.error == "not a feed: got text/html"


def test_json_and_binary_bodies_are_not_feeds(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/blob", bytes(range(256)) * 40, content_type="application/octet-stream")
    outcome, _, _ = run_with_control(feed_server, tmp_path, feed_server.url("/blob"))
    assert outcome.error.startswith("not a feed")


# -- redirects, names, connections -----------------------------------------------------------------


def test_endless_redirects(feed_server: FeedServer, tmp_path: Path) -> None:
    # A chain that never ends (each hop a new URL, as a misconfigured CDN does) …
    for i in range(50):
        feed_server.redirect(f"/hop{i}", f"/hop{i + 1}", status=302)
    outcome, state, _ = run_with_control(feed_server, tmp_path, feed_server.url("/hop0"))
    assert outcome.error.startswith("too many redirects (more than 5")
    assert state["permanent_url"] is None and state["last_status"] == 302
    assert feed_server.hits("/hop6") == 0                     # gave up after 5 redirects


def test_redirect_loop(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.redirect("/a", "/b", status=301)
    feed_server.redirect("/b", "/a", status=301)
    outcome, state, _ = run_with_control(feed_server, tmp_path, feed_server.url("/a"))
    assert outcome.error.startswith("too many redirects (loop:")
    assert state["permanent_url"] is None                     # a loop is not remembered as a move


def test_redirect_to_a_local_file(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.redirect("/sneaky", "file:///etc/passwd", status=301)
    outcome, state, _ = run_with_control(feed_server, tmp_path, feed_server.url("/sneaky"))
    assert outcome.error == "unsupported URL 'file:///etc/passwd' (only http and https)"
    assert state["permanent_url"] is None


def test_name_that_does_not_resolve(feed_server: FeedServer, tmp_path: Path) -> None:
    outcome, _, _ = run_with_control(feed_server, tmp_path, "http://feeds.newsbot-test.invalid/rss")
    # Without any resolver at all the lookup may time out instead; either way a recorded error.
    assert outcome.error in ("cannot resolve host feeds.newsbot-test.invalid", "timed out after 1s")


def test_connection_reset_before_any_answer(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.reset("/reset.xml")
    outcome, _, _ = run_with_control(feed_server, tmp_path, feed_server.url("/reset.xml"))
    assert outcome.error.startswith("server broke the connection")


def test_connection_refused(feed_server: FeedServer, tmp_path: Path) -> None:
    outcome, _, _ = run_with_control(feed_server, tmp_path, f"http://127.0.0.1:{_closed_port()}/f.xml")
    assert outcome.error.startswith("connection refused")


# -- all at once -------------------------------------------------------------------------------------


def test_every_fault_at_once_leaves_the_healthy_feeds_alone(feed_server: FeedServer, tmp_path: Path) -> None:
    """Twelve broken feeds and three healthy ones in one poll: within one deadline, each recorded."""
    packed = gzip.compress(rss(FEED_ITEMS).encode())
    feed_server.hang("/hang")
    feed_server.drip("/drip", rss(FEED_ITEMS), bytes_per_second=1)
    feed_server.route("/cut", packed[: len(packed) // 2], headers={"Content-Encoding": "gzip"})
    feed_server.route("/empty", b"")
    feed_server.route("/page", "<html><body>hi</body></html>", content_type="text/html")
    feed_server.redirect("/loop", "/loop2")
    feed_server.redirect("/loop2", "/loop")
    feed_server.reset("/reset")
    feed_server.route("/500", "oops", status=500, content_type="text/plain")
    feed_server.route("/429", "slow down", status=429, content_type="text/plain",
                      headers={"Retry-After": "60"})
    broken = {name: feed_server.url(f"/{name}") for name in
              ("hang", "drip", "cut", "empty", "page", "loop", "reset", "500", "429", "missing")}
    broken["dns"] = "http://feeds.newsbot-test.invalid/rss"
    broken["refused"] = f"http://127.0.0.1:{_closed_port()}/f.xml"
    healthy = {}
    for i in range(3):
        feed_server.route(f"/ok{i}", rss([(f"ok{i}-{j}", f"Healthy {i} {j}") for j in range(5)]))
        healthy[f"ok{i}"] = feed_server.url(f"/ok{i}")
    cfg = fast_config(tmp_path, {**broken, **healthy})
    started = time.monotonic()
    outcomes = poll(cfg)
    assert time.monotonic() - started < 5
    db = open_database(load(cfg).storage.path)
    for name in broken:
        state = feed_state(db, name)
        assert outcomes[name].status == "error", name
        assert state["error_count"] == 1 and state["last_error"], name
    for name in healthy:
        assert outcomes[name].new == 5 and feed_state(db, name)["error_count"] == 0
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 15
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
