"""A real HTTP feed server on 127.0.0.1 for tests (stdlib only, runs in a background thread).

It answers real sockets on an ephemeral port, so the code under test goes through its whole HTTP
stack (httpx, redirects, gzip, timeouts). Being a thread, it works the same from sync and async
tests: the event loop of an async test is never blocked by it.

    with FeedServer() as server:
        server.route("/feed.xml", body, etag='"v1"')
        url = server.url("/feed.xml")
        ...
        server.route("/feed.xml", fixed_body)     # routes can be replaced while running
        assert server.hits("/feed.xml") == 2

Behaviours: ``route`` (static body, optional ETag / Last-Modified answered with 304, delay, gzip),
``redirect``, ``hang`` (accepts, never answers until ``stop``), ``drip`` (a slow body),
``reset`` (closes the connection without any answer). Unknown paths get a 404.
"""

from __future__ import annotations

import gzip as gzip_module
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


@dataclass
class _Route:
    kind: str                                   # "static", "redirect", "hang", "drip", "reset"
    body: bytes = b""
    status: int = 200
    content_type: str = DEFAULT_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    gzip: bool = False
    chunked: bool = False
    location: str = ""
    bytes_per_second: float = 0.0


def _to_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _not_modified(route: _Route, request_headers: dict[str, str]) -> bool:
    """True when the request's validators match the route's (RFC 9110: If-None-Match wins)."""
    lowered = {k.lower(): v for k, v in request_headers.items()}
    inm = lowered.get("if-none-match")
    if route.etag is not None and inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or route.etag in tags or route.etag.removeprefix("W/") in tags
    ims = lowered.get("if-modified-since")
    if route.last_modified is not None and ims is not None:
        try:
            return parsedate_to_datetime(ims) >= parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return ims == route.last_modified
    return False


class FeedServer:
    """Serves canned feed responses on ``http://127.0.0.1:<port>``. See the module docstring."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0            # requests being handled right now
        self.max_in_flight = 0        # the most handled at once since start

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FeedServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self._host, 0), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"FeedServer:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging and dripping handlers are released and their sockets closed."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FeedServer is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        if not path.startswith("/"):
            path = "/" + path
        return self.base_url + path

    # -- routes ---------------------------------------------------------------------------------

    def _set(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    def route(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
        gzip: bool = False,
        chunked: bool = False,
    ) -> None:
        """Serve ``body`` at ``path`` (replacing any previous route).

        ``etag`` / ``last_modified`` are sent and a matching If-None-Match / If-Modified-Since
        gets a 304. ``delay`` waits before answering. ``gzip`` compresses the body and sends
        ``Content-Encoding: gzip``. ``headers`` are sent as given (e.g. a pre-compressed body with
        its own Content-Encoding, a Retry-After). ``chunked`` sends the body with
        ``Transfer-Encoding: chunked`` and no Content-Length (the client cannot know the size
        in advance).
        """
        self._set(path, _Route(
            "static", _to_bytes(body), status, content_type, dict(headers or {}), etag,
            last_modified, delay, gzip, chunked,
        ))

    def route_file(self, path: str, file: str | Path, **kwargs: object) -> None:
        """``route`` with the bytes of a file."""
        self.route(path, Path(file).read_bytes(), **kwargs)  # type: ignore[arg-type]

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        """Answer ``status`` with a Location of ``to`` (a path on this server or an absolute URL)."""
        location = self.url(to) if to.startswith("/") else to
        self._set(path, _Route("redirect", status=status, location=location))

    def hang(self, path: str) -> None:
        """Accept the request and never answer (until ``stop``)."""
        self._set(path, _Route("hang"))

    def drip(
        self, path: str, body: bytes | str, bytes_per_second: float,
        *, content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> None:
        """Send headers at once, then the body slowly at ``bytes_per_second``."""
        self._set(path, _Route(
            "drip", _to_bytes(body), content_type=content_type, bytes_per_second=bytes_per_second,
        ))

    def reset(self, path: str) -> None:
        """Close the connection without sending anything (a server that dies mid-request)."""
        self._set(path, _Route("reset"))

    def remove(self, path: str) -> None:
        """Forget a route: the path answers 404 again."""
        with self._lock:
            self._routes.pop(path, None)

    def _lookup(self, raw_path: str) -> _Route | None:
        with self._lock:
            route = self._routes.get(raw_path)
            if route is None:
                route = self._routes.get(urlsplit(raw_path).path)
            return route

    # -- what was received ----------------------------------------------------------------------

    def hits(self, path: str) -> int:
        """How many requests arrived for ``path`` (with or without a query string)."""
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path or urlsplit(p).path == path)

    def last_headers(self, path: str) -> dict[str, str]:
        """Headers of the last request for ``path`` (KeyError if none)."""
        with self._lock:
            for p, headers in reversed(self.requests):
                if p == path or urlsplit(p).path == path:
                    return headers
        raise KeyError(path)

    def _record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FeedServer/1.0"
        timeout = 30          # idle keep-alive connections are dropped after this (seconds)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            headers = {k: v for k, v in self.headers.items()}
            server._record(self.path, headers)
            server._enter()
            self._counted = True
            try:
                self._answer(headers)
            finally:
                self._uncount()

        def _uncount(self) -> None:
            """Leave the in-flight count once: before a whole body is written (the client may
            read it and send its next request before this thread runs again), else at the end."""
            if getattr(self, "_counted", False):
                self._counted = False
                server._leave()

        def _answer(self, headers: dict[str, str]) -> None:
            route = server._lookup(self.path)
            if route is None:
                self._send(404, b"not found", "text/plain; charset=utf-8")
                return
            if route.delay and server._stopping.wait(route.delay):
                return
            if route.kind == "hang":
                server._stopping.wait()
                self.close_connection = True
                return
            if route.kind == "reset":
                self.close_connection = True
                return
            if route.kind == "redirect":
                self._send(route.status, b"", "text/plain", {"Location": route.location})
                return
            if route.kind == "drip":
                self._drip(route)
                return
            self._static(route, headers)

        def _static(self, route: _Route, request_headers: dict[str, str]) -> None:
            extra = dict(route.headers)
            if route.etag is not None:
                extra["ETag"] = route.etag
            if route.last_modified is not None:
                extra["Last-Modified"] = route.last_modified
            if _not_modified(route, request_headers):
                self._send(304, b"", None, extra)
                return
            body = route.body
            if route.gzip:
                body = gzip_module.compress(body, compresslevel=6)
                extra["Content-Encoding"] = "gzip"
            if route.chunked:
                self._send_chunked(route.status, body, route.content_type, extra)
            else:
                self._send(route.status, body, route.content_type, extra)

        def _send_chunked(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 65536):
                    if server._stopping.is_set():
                        break
                    chunk = body[start:start + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _send(
            self, status: int, body: bytes, content_type: str | None,
            extra: dict[str, str] | None = None,
        ) -> None:
            self._uncount()
            try:
                self.send_response(status)
                if content_type is not None and status != 304:
                    self.send_header("Content-Type", content_type)
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _drip(self, route: _Route) -> None:
            body = route.body
            step = max(1, int(route.bytes_per_second / 20) or 1)
            pause = step / route.bytes_per_second if route.bytes_per_second > 0 else 0.05
            try:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                for start in range(0, len(body), step):
                    if server._stopping.wait(pause):
                        break
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler
