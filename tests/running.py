"""Helpers for tests that drive a running newsbot process: free ports, real HTTP GETs of
/healthz and /metrics, waiting, and a config of the sample feeds served by ``FeedServer``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.feedserver import FeedServer

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_FILES = ("lemonde-international.xml", "franceinfo-monde.xml", "dw-world-rss1.rdf")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """A real GET: (status, body text), 4xx/5xx included."""
    try:
        with NO_PROXY.open(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics and parse it as Prometheus text: {(sample name, labels): value}."""
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def healthy(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
    except OSError:
        return False


def serve_samples(server: FeedServer, files: tuple[str, ...] = SAMPLE_FILES) -> list[str]:
    """Route the sample feed files on ``server``; their URLs."""
    for name in files:
        server.route_file(f"/{name}", SAMPLES / name)
    return [server.url(f"/{name}") for name in files]


def feeds_toml(urls: list[str], interval: str = "10s") -> str:
    return "\n".join(
        f'[[feeds]]\nname = "feed {i}"\nurl = "{url}"\ninterval = "{interval}"\n'
        for i, url in enumerate(urls)
    )


def poller_config(tmp_path: Path, urls: list[str], port: int | None, extra: str = "") -> Path:
    """A config polling ``urls`` every 10 s into tmp_path/news.db, metrics on ``port``."""
    metrics = f'[metrics]\nlisten = "127.0.0.1:{port}"\n' if port else ""
    text = (f'[storage]\npath = "{tmp_path / "news.db"}"\n\n[polling]\nparse_processes = 0\njitter = "0s"\n\n'
            f"{metrics}\n{extra}\n{feeds_toml(urls)}")
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def running(command: list[str], **kwargs: object) -> Iterator[subprocess.Popen[str]]:
    """Start ``command``; on exit SIGTERM it (kill after 15 s). Check ``returncode`` after."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.out, proc.err = proc.communicate(timeout=15)  # type: ignore[attr-defined]
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.out, proc.err = proc.communicate()  # type: ignore[attr-defined]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(extra)
    return env
