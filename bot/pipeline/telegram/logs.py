"""Keep the bot token out of every log record.

The token is part of every Bot API URL (``https://api.telegram.org/bot<token>/sendMessage``):
httpx logs request URLs at INFO, and python-telegram-bot puts the token in some error messages
(``InvalidToken``: "The token `...` was rejected by the server"). Two layers:

- a log-record factory (:func:`install_redaction`) that redacts the message, the formatted
  exception and the stack of every record as it is created, whatever logger or handler it goes to;
- :class:`RedactingFilter`, also attached to the root logger's handlers (a handler added later by
  someone else still gets records already redacted by the factory).

``httpx`` and ``httpcore`` are lowered to WARNING: their INFO/DEBUG lines are one per request.
"""

from __future__ import annotations

import logging
import threading
import traceback
from urllib.parse import quote

REDACTED = "<redacted>"
_secrets: set[str] = set()
_lock = threading.Lock()
_installed_factory: bool = False


def _variants(token: str) -> set[str]:
    """The token as it may appear: raw, URL-encoded, and its secret half on its own."""
    out = {token, quote(token, safe=""), quote(token)}
    _, _, secret = token.partition(":")
    if len(secret) >= 8:
        out.add(secret)
    return {v for v in out if v}


def add_secret(token: str) -> None:
    if token:
        with _lock:
            _secrets.update(_variants(token))


def redact(text: str) -> str:
    """``text`` with every known secret replaced (longest first, so no fragment survives)."""
    if not _secrets or not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string must not hide a secret
        message = f"{record.msg!r} % {record.args!r}"
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            # Handlers print exc_text when it is set; the live exception, whose str() holds the
            # token, is dropped. Records without a secret keep their exc_info untouched.
            record.exc_text, record.exc_info = clean, None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """Redacts the bot token from records passing through a handler or logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _install_factory() -> None:
    global _installed_factory
    with _lock:
        if _installed_factory:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed_factory = True


def install_redaction(token: str) -> None:
    """Redact ``token`` from all logging from now on and quieten the per-request loggers."""
    add_secret(token)
    _install_factory()
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
