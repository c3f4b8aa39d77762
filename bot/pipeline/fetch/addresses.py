"""Where a feed URL really points: resolved addresses, what kind they are, URLs fit to print.

Used by :mod:`bot.pipeline.fetch.fetcher` to refuse redirects into private networks (SSRF) and, always, the
link-local range where clouds serve instance metadata and credentials (169.254.169.254). The
check is on the *resolved* addresses, never on the spelling: ``0x7f000001``, ``2130706433`` and
``[::ffff:10.0.0.1]`` are loopback and private like ``127.0.0.1`` and ``10.0.0.1``.

Also :func:`display_url`: a URL with its ``user:password@`` part removed, for every message and
log line (a feed URL may carry credentials).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services outside the link-local ranges (Alibaba, AWS's IPv6 endpoint).
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254"))
RESOLVE_CACHE_SECONDS = 30.0
_USERINFO = re.compile(r"(//)[^/?#]*@")
_cache: dict[tuple[str, int], tuple[float, tuple[IPAddress, ...]]] = {}


def _plain(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) as the IPv4 address it maps."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_metadata(ip: IPAddress) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10) or a known metadata address: never fetched."""
    ip = _plain(ip)
    return ip.is_link_local or ip in METADATA_ADDRESSES


def kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public Internet address ("loopback", "private", …), or None if it is."""
    ip = _plain(ip)
    if is_metadata(ip):
        return "link-local (cloud metadata)"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one in the usual notation."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``host`` resolves to (cached a few seconds). Raises ``socket.gaierror``."""
    ip = literal(host)
    if ip is not None:
        return (ip,)
    key = (host.lower(), port)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = tuple(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if len(_cache) > 4096:
        _cache.clear()
    _cache[key] = (now + RESOLVE_CACHE_SECONDS, found)
    return found


def host_port(host: str, port: int | None) -> str:
    """``host:port`` with IPv6 addresses in brackets (``[::1]:18080``)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{shown}:{port}" if port else shown


def display_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (unchanged when it has none or is not a URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:                      # "http://u:p@[::1/x": still cut what looks like userinfo
        return _USERINFO.sub(r"\1", url, count=1)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
