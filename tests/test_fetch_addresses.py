"""Where a fetch may go (SSRF) and what it may print (credentials), against tests/feedserver.py.

Every test here runs under ``loopback_only``: a connection attempt to any address other than
127.0.0.1/::1 fails in the test process before a packet leaves, so a regression (a redirect to
10.0.0.1 followed) shows as a failed assertion, never as traffic to another network.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.models import PollingConfig
from bot.errors import FetchError
from bot.pipeline.fetch.fetcher import Fetcher
from tests.feedserver import FeedServer
from tests.helpers import rss, write_config

ROOT = Path(__file__).resolve().parent.parent
FAST = PollingConfig(timeout=1.0, connect_timeout=0.5, max_bytes=64 * 1024,
                     user_agent="newsbot-test/1.0 (+https://example.org/bot)")
FEED = rss([("g1", "Talks in Geneva")])
PASSWORD = "s3cretPW"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Refuse (and record) every connect() to a non-loopback address made in this process."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(address: object) -> bool:
        host = address[0] if isinstance(address, tuple) else None
        try:
            return host is not None and ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def connect(self: socket.socket, address: object) -> None:
        if not allowed(address):
            attempts.append(address)
            raise ConnectionRefusedError(111, f"test guard: no connection to {address}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not allowed(address):
            attempts.append(address)
            return 111
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert attempts == [], f"a connection to a non-loopback address was attempted: {attempts}"


async def fetch(url: str) -> object:
    async with Fetcher(FAST) as fetcher:
        return await fetcher.fetch(url)


async def fetch_error(url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetch(url)
    return info.value


@pytest.mark.parametrize(("target", "kind"), [
    ("http://10.0.0.1/feed.xml", "private"),
    ("http://192.168.1.20:8080/feed.xml", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:10.0.0.1]/feed.xml", "private"),
    ("http://[fe80::1]/feed.xml", "link-local"),
    ("http://0x7f000001:{port}/feed.xml", "loopback"),       # this very server, spelled in hex
    ("http://2130706433:{port}/feed.xml", "loopback"),       # … as one decimal number
    ("http://localhost:{port}/feed.xml", "loopback"),        # … by name
    ("http://0.0.0.0:{port}/feed.xml", "unspecified"),
])
async def test_redirects_to_non_public_addresses_are_refused_before_connecting(
        feed_server: FeedServer, target: str, kind: str) -> None:
    feed_server.route("/feed.xml", FEED)
    feed_server.redirect("/moved", target.format(port=feed_server.port), status=302)
    error = await fetch_error(feed_server.url("/moved"))
    if kind == "link-local":
        assert "link-local (cloud metadata) address, never fetched" in str(error), error
    else:
        assert str(error).startswith(f"redirect to a {kind} address refused"), error
    assert feed_server.hits("/feed.xml") == 0


async def test_a_local_feed_still_works_with_its_own_redirects(feed_server: FeedServer) -> None:
    feed_server.route("/feed.xml", FEED)
    feed_server.redirect("/old.xml", "/feed.xml", status=301)
    result = await fetch(feed_server.url("/old.xml"))
    assert result.status == 200 and result.permanent_url == feed_server.url("/feed.xml")


async def test_dns_rebinding_a_name_public_then_private_gets_its_answer_refused(
        feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the check's lookup says public, httpx's own lookup a moment later says
    # loopback. Simulated by answering the check with a public address; httpx still connects to
    # 127.0.0.1 (localhost), and the answer it got there is refused unread.
    import bot.pipeline.fetch.fetcher

    real = bot.pipeline.fetch.fetcher.resolve

    async def first_answer_public(host: str, port: int) -> tuple:
        return (ipaddress.ip_address("93.184.216.34"),) if host == "localhost" else await real(host, port)

    monkeypatch.setattr(bot.pipeline.fetch.fetcher, "resolve", first_answer_public)
    feed_server.route("/feed.xml", FEED)
    feed_server.redirect("/moved", f"http://localhost:{feed_server.port}/feed.xml", status=302)
    error = await fetch_error(feed_server.url("/moved"))
    assert str(error).startswith("redirect to a loopback address refused: "
                                 f"http://localhost:{feed_server.port}/feed.xml connected to 127.0.0.1")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::a9fe:a9fe]/x",
                                 "http://100.100.100.200/latest/meta-data/"])
async def test_metadata_addresses_are_refused_even_when_configured(url: str) -> None:
    error = await fetch_error(url)
    assert "never fetched" in str(error) and error.url == url


@pytest.mark.parametrize("location", ["http://[::1/feed.xml", "http://x.example:99999/f",
                                      "http://exa mple.org/f", "http://a\tb.example/f"])
async def test_a_malformed_location_is_the_servers_fault(feed_server: FeedServer, location: str) -> None:
    feed_server.redirect("/bad", location.format(port=feed_server.port), status=302)
    error = await fetch_error(feed_server.url("/bad"))
    assert str(error).startswith("the server redirected to a malformed URL"), error


async def test_connection_refused_on_ipv6_names_the_address_in_brackets() -> None:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]                     # bound, not listening: refused
        error = await fetch_error(f"http://[::1]:{port}/feed.xml")
    assert str(error) == f"connection refused ([::1]:{port})"


def test_credentials_in_a_feed_url_reach_the_server_but_no_log(feed_server: FeedServer,
                                                                tmp_path: Path) -> None:
    feed_server.route("/private.xml", FEED)
    feed_server.redirect("/old.xml", "/private.xml", status=301)
    feed_server.redirect("/away", "http://10.1.2.3/x", status=302)
    feed_server.route("/gone.xml", "nope", status=404, content_type="text/plain")
    auth = f"alice:{PASSWORD}@"
    feeds = {name: feed_server.url(path).replace("://", f"://{auth}")
             for name, path in (("private", "/old.xml"), ("away", "/away"), ("gone", "/gone.xml"))}
    cfg = write_config(tmp_path, feeds)
    runs = [subprocess.run([sys.executable, "-m", "bot", "-v", "--config", str(cfg), *args], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
            for args in (("poll", "--once"), ("poll", "--once"), ("feeds",))]
    output = "".join(r.stdout + r.stderr for r in runs)
    assert "HTTP Request: GET http://127.0.0.1" in output           # httpx's request log was on
    assert PASSWORD not in output and "alice" not in output, output
    assert "redirect to a private address refused" in output and "HTTP 404" in output
    # The credentials went where they belong: the configured server, also after the move.
    assert feed_server.hits("/private.xml") == 2
    assert feed_server.last_headers("/private.xml").get("Authorization") == "Basic YWxpY2U6czNjcmV0UFc="
