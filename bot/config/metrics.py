"""Reader for the optional [metrics] section: where /healthz and /metrics listen (off by default)."""

from __future__ import annotations

from bot.config.models import MetricsConfig
from bot.config.schema import Table


def split_listen(value: str) -> tuple[str, int] | str:
    """``"127.0.0.1:9464"`` / ``"[::1]:9464"`` → (host, port), or why it is not such an address."""
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{value!r} is not an address like \"127.0.0.1:9464\" (host:port, port 1-65535)"
    return host, int(port)


def read_metrics(table: Table) -> MetricsConfig:
    listen = table.str("listen", "")
    host, port = "", 0
    if listen:
        where = split_listen(listen)
        if isinstance(where, str):
            table.error("listen", where)
        else:
            host, port = where
    table.finish()
    return MetricsConfig(listen=listen, host=host, port=port)
