"""The ``[metrics] listen`` HTTP server: ``GET /healthz`` and ``GET /metrics`` (Prometheus text).

It runs in its own thread (wsgiref), not on the event loop: a stalled loop still gets an answer,
and the answer says so (the last poll is no longer fresh). Store totals come from a read-only
SQLite connection opened per scrape, so a scrape never waits behind the writer thread.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlite_utils import Database

from bot.config.models import Config, MetricsConfig
from bot.errors import NewsbotError
from bot.observe.health import Health
from bot.observe.instruments import REGISTRY
from bot.pipeline.store.stats import store_figures

log = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class StoreCollector:
    """Gauges read from the database at scrape time."""

    def __init__(self, db_path: Path):
        self.db_path = db_path

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self._read()
        except sqlite3.Error as exc:
            log.warning("metrics: cannot read %s: %s", self.db_path, exc)
            return
        feeds = GaugeMetricFamily("newsbot_feeds", "Configured feeds by polling state", labels=["state"])
        for state, count in figures["feeds"].items():
            feeds.add_metric([state], count)
        yield feeds
        for name, key, text in (
            ("newsbot_articles_stored", "articles", "Articles in the database"),
            ("newsbot_clusters_stored", "clusters", "Story clusters in the database"),
            ("newsbot_dedup_backlog", "dedup_backlog", "Stored articles not yet decided by dedup"),
            ("newsbot_digests_pending", "pending_digests", "Digest runs with parts still to send"),
            ("newsbot_last_poll_timestamp_seconds", "last_poll_at", "When a feed was last polled"),
            ("newsbot_last_digest_timestamp_seconds", "last_digest_at", "When a digest last went out whole"),
        ):
            yield GaugeMetricFamily(name, text, value=float(figures[key] or 0))

    def _read(self) -> dict[str, Any]:
        uri = self.db_path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            return store_figures(Database(conn))
        finally:
            conn.close()


class _Both:
    """The process's counters and the store's gauges, as one collector for ``generate_latest``."""

    def __init__(self, *collectors: Any):
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class MetricsServer:
    """Serves /healthz (200 "ok" or 503 with the reason) and /metrics until ``stop()``."""

    def __init__(self, config: MetricsConfig, health: Health, db_path: Path,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.health = health
        self.clock = clock
        self.registry = _Both(REGISTRY, StoreCollector(db_path))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        server_class = _ThreadingServer
        if ":" in self.config.host:
            server_class = type("_ThreadingServer6", (_ThreadingServer,), {"address_family": socket.AF_INET6})
        try:
            self._server = make_server(self.config.host, self.config.port, self.app,
                                       server_class=server_class, handler_class=_QuietHandler)
        except OSError as exc:
            raise NewsbotError(f"metrics.listen {self.config.listen}: cannot listen: "
                               f"{exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="newsbot-metrics",
                                        daemon=True)
        self._thread.start()
        log.info("metrics and health check on http://%s/metrics and /healthz", self.config.listen)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", b"only GET\n")
        if path == "/healthz":
            healthy, line = self.health.verdict(self.clock())
            return _answer(start_response, "200 OK" if healthy else "503 Service Unavailable",
                           (line + "\n").encode())
        if path == "/metrics":
            page = generate_latest(self.registry)  # type: ignore[arg-type]
            return _answer(start_response, "200 OK", page, CONTENT_TYPE_LATEST)
        return _answer(start_response, "404 Not Found", b"not found: try /healthz or /metrics\n")


def _answer(start_response: StartResponse, status: str, body: bytes,
            content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def start_metrics(config: Config, health: Health) -> MetricsServer | None:
    """The server of ``[metrics] listen``, started; None when the section is off."""
    if not config.metrics.listen:
        return None
    return MetricsServer(config.metrics, health, config.storage.path).start()


def ask_health(config: MetricsConfig, timeout: float = 5.0) -> tuple[bool, str]:
    """GET /healthz of the newsbot listening at ``config`` (a wildcard address is asked on
    loopback): (healthy, its one line, or why it could not be asked)."""
    if not config.listen:
        raise NewsbotError("no [metrics] listen in the config: the health check is off")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(config.host, config.host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{config.port}/healthz"
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never via a proxy
        with opener.open(url, timeout=timeout) as response:
            return True, response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode("utf-8", "replace").strip() or f"HTTP {exc.code}"
    except OSError as exc:
        return False, f"newsbot is not answering at {url}: {getattr(exc, 'reason', None) or exc}"
