"""Download feeds over HTTP with httpx: bounded in time, size, redirects and concurrency.

``Fetcher`` owns one ``httpx.AsyncClient`` per origin (scheme, host, port) and is used as an
async context manager. Why not one client for everything: httpcore 1.0's connection pool walks
all its connections (with a ``poll()`` and a ``getpeername()`` each) on every request start and
end, and its keep-alive check is quadratic, so with 200 fetches in flight one shared pool spent
three quarters of a 1,000-feed poll cycle on bookkeeping (encode/httpcore#1035). Per origin a
pool holds at most ``per_host_concurrency`` connections; clients idle for ``IDLE_CLIENT_SECONDS``
are closed, so open sockets follow the hosts being polled, not every host ever configured.

``fetch`` returns a ``FetchResult`` or raises ``FetchError`` with a
message a person can act on ("timed out after 20s", "HTTP 404 Not Found", "response larger than
5242880 bytes", "too many redirects (loop: a → b → a)", "cannot resolve host …"). httpx
exceptions are translated here and nowhere else.

Limits, and why they are enforced here rather than by httpx:
- Time: httpx's connect/read timeouts catch a dead server, but a server dripping one byte a
  second never trips a read timeout, so the whole fetch (all redirects, the body) also runs
  under one ``asyncio.timeout`` deadline.
- Size: the body is streamed and both the raw bytes and the *decoded* bytes are capped. The
  gzip/deflate decoding is done here with ``zlib`` and an output limit per step, so a gzip bomb
  (a few KB that inflate to gigabytes) is stopped after ``max_bytes`` of output, never held in
  memory whole.
- Redirects: followed by hand (at most 5) so loops can be named and a permanent move (301/308)
  reported in ``FetchResult.permanent_url`` for the caller to remember.
- Addresses: every hop's host is resolved first (:mod:`bot.pipeline.fetch.addresses`). A redirect to another
  host that resolves to a loopback, private, link-local or otherwise non-public address is
  refused before any connection (SSRF); the configured URL itself may point into a private
  network, but never at a link-local / cloud metadata address.
- Credentials: ``user:password@`` in a feed URL is sent as a Basic ``Authorization`` header to
  the configured origin only, and removed from the URL httpx sees and logs and from every
  message.
- Concurrency: a global semaphore (``polling.concurrency``) and one per host
  (``polling.per_host_concurrency``) so one slow site cannot take every slot. Time spent
  waiting for a slot is not counted against the deadline.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import socket
import ssl
import time
import zlib
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from bot.config.models import PollingConfig
from bot.errors import FetchError
from bot.models import FetchResult
from bot.pipeline.fetch.addresses import (
    IPAddress,
    display_url,
    host_port,
    is_metadata,
    kind,
    literal,
    resolve,
)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate"
_DROPPED_RESPONSE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
IDLE_CLIENT_SECONDS = 30.0    # a per-origin client unused this long is closed (its sockets too)
SWEEP_EVERY = 10.0


def _seconds(value: float) -> str:
    return f"{value:g}s"


class _Origin:
    """One origin's client, with the requests in flight on it and when it was last used."""

    __slots__ = ("client", "in_flight", "last_used")

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.in_flight = 0
        self.last_used = time.monotonic()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"


class Fetcher:
    """HTTP fetching for every feed; one per running bot (or per ``poll --once``)."""

    def __init__(self, polling: PollingConfig):
        self.polling = polling
        self._open = False
        self._ssl: ssl.SSLContext | None = None
        self._origins: dict[str, _Origin] = {}
        self._last_sweep = time.monotonic()
        self._global = asyncio.Semaphore(max(1, polling.concurrency))
        self._per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        if not self._open:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()     # loading CA certificates: once, shared
            self._open = True

    async def aclose(self) -> None:
        self._open = False
        origins, self._origins = self._origins, {}
        for origin in origins.values():
            await origin.client.aclose()

    @property
    def is_open(self) -> bool:
        return self._open

    def _new_client(self) -> httpx.AsyncClient:
        p = self.polling
        return httpx.AsyncClient(
            timeout=httpx.Timeout(p.timeout, connect=min(p.connect_timeout, p.timeout)),
            # Redirects from many feeds may converge on one origin: the pool may grow past the
            # per-host limit then, bounded by the global one.
            limits=httpx.Limits(
                max_connections=max(1, p.concurrency),
                max_keepalive_connections=max(1, p.per_host_concurrency),
            ),
            headers={"User-Agent": p.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            verify=self._ssl if self._ssl is not None else True,
            trust_env=False,
        )

    def _take(self, url: str) -> _Origin:
        key = _origin(url)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(self._new_client())
        origin.in_flight += 1
        return origin

    @staticmethod
    def _give_back(origin: _Origin) -> None:
        origin.in_flight -= 1
        origin.last_used = time.monotonic()

    async def _sweep(self) -> None:
        """Close the clients of origins nobody fetched from for IDLE_CLIENT_SECONDS."""
        now = time.monotonic()
        if now - self._last_sweep < SWEEP_EVERY:
            return
        self._last_sweep = now
        idle = [k for k, o in self._origins.items()
                if o.in_flight == 0 and now - o.last_used > IDLE_CLIENT_SECONDS]
        for key in idle:
            await self._origins.pop(key).client.aclose()

    def _host_semaphore(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        sem = self._per_host.get(host)
        if sem is None:
            sem = self._per_host[host] = asyncio.Semaphore(max(1, self.polling.per_host_concurrency))
        return sem

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given).

        Returns ``FetchResult(not_modified=True)`` for a 304. Raises FetchError for everything
        else that is not a 2xx with a body.
        """
        if not self._open:
            raise RuntimeError("Fetcher is not open: use 'async with Fetcher(...)'")
        url, userinfo = _split_userinfo(url)
        _check_url(url, url)
        await self._sweep()
        async with self._global, self._host_semaphore(url):
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.polling.timeout):
                    result = await self._follow(url, userinfo, etag, last_modified)
            except TimeoutError as exc:
                raise FetchError(f"timed out after {_seconds(self.polling.timeout)}", url) from exc
            return _with_elapsed(result, time.monotonic() - started)

    async def _follow(
        self, url: str, userinfo: str, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        """Request ``url`` (no credentials in it: ``userinfo`` holds them) and follow up to
        MAX_REDIRECTS redirects by hand, each hop's address checked before connecting."""
        chain = [url]
        current = url
        permanent_url: str | None = None
        still_permanent = True
        conditional = _conditional_headers(etag, last_modified)
        while True:
            await _check_address(current, url)
            headers = dict(conditional)
            if userinfo and _origin(current) == _origin(url):
                headers["Authorization"] = _basic_auth(userinfo)
            origin = self._take(current)
            try:
                request = origin.client.build_request("GET", current, headers=headers)
                response = await origin.client.send(request, stream=True)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                self._give_back(origin)
                raise _translate(exc, current, self.polling) from exc
            except BaseException:
                self._give_back(origin)
                raise
            try:
                _check_peer(response, current, url)
                if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                    target = _redirect_target(current, response.headers["location"], url)
                    if target in chain:
                        loop = " → ".join([*chain[chain.index(target):], target])
                        raise FetchError(
                            f"too many redirects (loop: {loop})", url, status=response.status_code
                        )
                    if len(chain) > MAX_REDIRECTS:
                        raise FetchError(
                            f"too many redirects (more than {MAX_REDIRECTS}, last {current})", url,
                            status=response.status_code,
                        )
                    if still_permanent and response.status_code in PERMANENT_STATUSES:
                        permanent_url = _with_userinfo(target, userinfo, url)
                    else:
                        still_permanent = False
                    chain.append(target)
                    current = target
                    continue
                return await self._finish(response, url, current, permanent_url, etag, last_modified)
            finally:
                try:
                    await response.aclose()
                finally:
                    self._give_back(origin)

    async def _finish(
        self, response: httpx.Response, url: str, final_url: str, permanent_url: str | None,
        etag: str | None, last_modified: str | None,
    ) -> FetchResult:
        status = response.status_code
        if status == 304:
            return FetchResult(
                url=url, status=304, headers=_headers(response),
                etag=response.headers.get("etag") or etag,
                last_modified=response.headers.get("last-modified") or last_modified,
                not_modified=True, final_url=final_url, permanent_url=permanent_url,
            )
        if not 200 <= status < 300:
            retry_after = None
            if status in RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
            raise FetchError(f"HTTP {status} {_reason(response)}".rstrip(), url, status=status,
                             retry_after=retry_after)
        body = await self._read_body(response, url)
        if not body.strip():
            raise FetchError("empty response", url, status=status)
        return FetchResult(
            url=url, status=status, body=body, headers=_headers(response),
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
            final_url=final_url, permanent_url=permanent_url,
        )

    async def _read_body(self, response: httpx.Response, url: str) -> bytes:
        """Stream the body: raw bytes and decoded bytes both capped at ``max_bytes``."""
        limit = self.polling.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"response larger than {limit} bytes (Content-Length {declared})", url,
                             status=response.status_code)
        decoder = _Decoder(response.headers.get("content-encoding", ""), limit, url)
        raw_total = 0
        try:
            async for chunk in response.aiter_raw():
                raw_total += len(chunk)
                if raw_total > limit:
                    raise FetchError(f"response larger than {limit} bytes", url, status=response.status_code)
                decoder.feed(chunk)
        except httpx.HTTPError as exc:
            raise _translate(exc, url, self.polling) from exc
        return decoder.finish()


# -- body decoding -----------------------------------------------------------------------------


class _Decoder:
    """Content-Encoding decoding with a hard cap on the decoded size (gzip-bomb safe)."""

    def __init__(self, encoding: str, limit: int, url: str):
        self.encodings = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        self.encodings = [e for e in self.encodings if e != "identity"]
        self.limit = limit
        self.url = url
        self.parts: list[bytes] = []
        self.total = 0
        if len(self.encodings) > 1 or (self.encodings and self.encodings[0] not in
                                        ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported content-encoding {encoding!r}", url)
        self.mode = self.encodings[0] if self.encodings else ""
        self.zlib: Any = None                  # a zlib decompressobj while inside a member
        self.first = True

    def _new(self, data: bytes) -> Any:
        if self.mode == "deflate":
            # RFC says zlib-wrapped, some servers send raw deflate: look at the header.
            zlib_header = len(data) >= 2 and (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
            return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _add(self, out: bytes) -> None:
        self.total += len(out)
        if self.total > self.limit:
            raise FetchError(f"response larger than {self.limit} bytes once decompressed", self.url)
        self.parts.append(out)

    def feed(self, data: bytes) -> None:
        if not self.mode:
            self._add(data)
            return
        try:
            while data:
                if self.zlib is None:
                    self.zlib = self._new(data)
                out = self.zlib.decompress(data, self.limit - self.total + 1)
                self._add(out)
                data = self.zlib.unconsumed_tail
                if self.zlib.eof:                       # gzip members may be concatenated
                    data = self.zlib.unused_data + data
                    self.zlib = None
                    if not data.strip(b"\x00"):
                        return
        except zlib.error as exc:
            raise FetchError(f"cannot decode {self.mode} body: {exc}", self.url) from exc

    def finish(self) -> bytes:
        if self.zlib is not None:
            try:
                self._add(self.zlib.flush())
            except zlib.error as exc:
                raise FetchError(f"cannot decode {self.mode} body: {exc}", self.url) from exc
            # zlib's flush() does not complain about a stream cut short: without this check the
            # part before the cut would be parsed (a bozo feed still yields entries) and stored.
            if not self.zlib.eof:
                raise FetchError(f"cannot decode {self.mode} body: truncated (the stream ends early)",
                                 self.url)
        return b"".join(self.parts)


# -- helpers -----------------------------------------------------------------------------------


def _check_url(target: str, url: str) -> None:
    try:
        parts = urlsplit(target)
    except ValueError as exc:
        raise FetchError(f"invalid URL {target!r}: {exc}", url) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"unsupported URL {target!r} (only http and https)", url)


def _redirect_target(current: str, location: str, url: str) -> str:
    """The URL a ``Location`` header sends us to, without fragment or credentials. A malformed
    one is the server's error, named as such (the configured URL is fine)."""
    shown = display_url(location.strip())
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        parts.port                                      # noqa: B018 - raises on a bad port
        if parts.hostname and not parts.hostname.isprintable() or " " in (parts.hostname or ""):
            raise ValueError(f"invalid host name {parts.hostname!r}")
    except ValueError as exc:
        raise FetchError(f"the server redirected to a malformed URL (Location: {shown!r}): {exc}",
                         url) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"unsupported URL {display_url(target)!r} (only http and https)", url)
    return _split_userinfo(target.split("#", 1)[0])[0]


def _split_userinfo(url: str) -> tuple[str, str]:
    """(``url`` without ``user:password@``, the ``user:password`` part or "")."""
    shown = display_url(url)
    if shown == url:
        return url, ""
    try:
        return shown, urlsplit(url).netloc.rpartition("@")[0]
    except ValueError:                  # a malformed URL: refused later, its credentials dropped
        return shown, ""


def _with_userinfo(target: str, userinfo: str, url: str) -> str:
    """``target`` with the configured credentials put back when it is on the configured origin
    (a permanent move remembered for the next polls must still authenticate)."""
    if not userinfo or _origin(target) != _origin(url):
        return target
    scheme, _, rest = target.partition("://")
    return f"{scheme}://{userinfo}@{rest}"


def _basic_auth(userinfo: str) -> str:
    user, _, password = userinfo.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


async def _check_address(target: str, url: str) -> None:
    """Refuse ``target`` before connecting when it resolves to a cloud metadata address, or,
    for a redirect to another host than the configured URL's, to any non-public address."""
    parts = urlsplit(target)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        found = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}", url) from exc
    for ip in found:
        if (refusal := _refusal(target, url, ip, "resolves to")) is not None:
            raise refusal


def _check_peer(response: httpx.Response, target: str, url: str) -> None:
    """The address httpx actually connected to, checked like the resolved ones: a name that
    resolved to a public address for :func:`_check_address` and to a private one for httpx
    (DNS rebinding) gets its answer refused, unread."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    ip = literal(str(peer[0])) if isinstance(peer, tuple) and peer else None
    if ip is not None and (refusal := _refusal(target, url, ip, "connected to")) is not None:
        raise refusal


def _refusal(target: str, url: str, ip: IPAddress, how: str) -> FetchError | None:
    """Why ``target`` may not be fetched from ``ip`` (None: it may). ``url`` is the configured
    feed URL: its own host may be private, never a metadata address."""
    why = kind(ip)
    if why is None:
        return None
    parts = urlsplit(target)
    host = parts.hostname or ""
    if is_metadata(ip):
        return FetchError(f"refused {host_port(host, parts.port)}: {ip} is a {why} address, never fetched",
                          url)
    if host != (urlsplit(url).hostname or ""):
        return FetchError(f"redirect to a {why} address refused: {display_url(target)} {how} {ip} "
                          "(only a configured feed URL may point into a private network)", url)
    return None


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _headers(response: httpx.Response) -> dict[str, str]:
    """Response headers, lower-case names (repeated ones joined), minus the transfer-level ones."""
    out: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        key = name.lower()
        if key in _DROPPED_RESPONSE_HEADERS:
            continue
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _reason(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase or ""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    from dataclasses import replace

    return replace(result, elapsed=elapsed)


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None or exc.__context__ is not None:
        nxt = exc.__cause__ or exc.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        exc = nxt
    return exc


def _translate(exc: httpx.HTTPError | httpx.InvalidURL, url: str, polling: PollingConfig) -> FetchError:
    """One httpx exception → a FetchError with a message a person understands."""
    try:
        request_url = exc.request.url  # type: ignore[union-attr]
        hostname, port = str(request_url.host), request_url.port
    except (RuntimeError, AttributeError):
        parts = urlsplit(display_url(url))
        hostname, port = parts.hostname or "", None
    host = host_port(hostname, port)
    if isinstance(exc, httpx.ConnectTimeout):
        connect = min(polling.connect_timeout, polling.timeout)
        return FetchError(f"connection timed out after {_seconds(connect)}", url)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out after {_seconds(polling.timeout)}", url)
    cause = _root_cause(exc)
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        if isinstance(cause, socket.gaierror) or "name or service not known" in text.lower() \
                or "nodename nor servname" in text.lower() or "name resolution" in text.lower():
            return FetchError(f"cannot resolve host {hostname}", url)
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED \
                or "refused" in text.lower():
            return FetchError(f"connection refused ({host})", url)
        if isinstance(cause, ssl.SSLError) or "ssl" in text.lower() or "certificate" in text.lower():
            return FetchError(f"TLS error with {host}: {text}", url)
        return FetchError(f"cannot connect to {host}: {text}", url)
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in text.lower():
        # httpx checks a redirect's Location while reading the answer: the server's mistake.
        return FetchError(f"the server redirected to a malformed URL ({text})", url)
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"server broke the connection ({text})", url)
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return FetchError(f"connection error: {text}", url)
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FetchError(f"invalid URL: {text}", url)
    return FetchError(f"HTTP error: {type(exc).__name__}: {text}", url)
