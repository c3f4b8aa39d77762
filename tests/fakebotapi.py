"""A fake Telegram Bot API server on 127.0.0.1 for tests (aiohttp, in its own thread and loop).

The real python-telegram-bot reaches it through ``ApplicationBuilder().base_url(fake.base_url)``:
every call is an HTTP POST to ``/bot<token>/<method>`` (form, multipart or JSON body), answered as
Telegram does (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description":
..., "parameters": ...}`` with the matching HTTP status). Being a thread with its own event loop, it
serves sync and async tests alike and never blocks the loop of the code under test.

    with FakeBotAPI() as fake:                          # or the ``fake_bot_api`` fixture
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        fake.push_command(42, "/start", language_code="en")
        await fake.wait_sent(1, chat_id=42)
        assert "Welcome" in fake.sent[-1].text

Methods: getMe, deleteWebhook, getUpdates (long poll with ``timeout`` and ``offset``), sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, setMyCommands / getMyCommands /
deleteMyCommands, getChatMember, getChatAdministrators, getChat, sendChatAction, leaveChat. Other
methods get Telegram's own 404 and are listed in ``.unknown_methods``.

Validation like Telegram's (a violation is a 400 with Telegram's wording): HTML parse mode with the
allowed tags only, balanced, attributes checked, ``<`` ``>`` ``&`` escaped (stricter than Telegram
about bare ``>`` and ``&``, on purpose: escaping bugs must show); text at most 4096 UTF-16 code
units after entity parsing and not empty; at most 100 entities; inline keyboards with
``callback_data`` of 1-64 bytes; "message is not modified" on identical edits; answerCallbackQuery
for an unknown query id is a 400 "query is too old".

Fault controls: ``block(chat_id)`` (403), ``fail_next(method, status, n, retry_after)`` (429 with
``parameters.retry_after``, 5xx, any 4xx), ``migrate(chat_id, new_id)`` (400 with
``parameters.migrate_to_chat_id``), ``delay(method, seconds)`` (``after=True``: the request is
processed first and only its answer is late, so a client timing out has in fact been served),
``reset_connections(n)`` (the connection is dropped without an answer),
``rate_limit(per_second=30, per_chat=None, per_group_per_minute=None)`` (429 past Telegram's
limits), ``fail_set_my_commands``-style failures are just ``fail_next("setMyCommands", 500, n=10)``.

Records: ``.sent`` (one :class:`Sent` per message accepted: chat_id, text as sent, parse_mode,
preview_disabled, plus message_id, reply_markup and the parsed plain text), ``.edits``,
``.calls`` ((method, params) for every request, failed ones included), ``.callback_answers``,
``.commands`` ({(scope_type, language_code): [commands]}; scope_type "default", "chat:<id>"...),
``.errors`` ((method, status, description) of every error answered), ``.too_many`` (count of 429s
answered), ``.timeline`` ((monotonic time, method, HTTP status, chat_id) of every answer given),
``.late_abandoned`` (requests done under ``delay(after=True)`` whose client left before the answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

BOT_ID = 7000000001
BOT_USERNAME = "newsbot_test_bot"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "newsbot", "username": BOT_USERNAME}

MAX_TEXT = 4096
MAX_ENTITIES = 100
# Parameters PTB JSON-encodes (non-string values) and that the fake decodes.
_JSON_KEYS = frozenset({
    "reply_markup", "link_preview_options", "commands", "scope", "entities", "reply_parameters",
    "allowed_updates", "disable_web_page_preview", "disable_notification", "show_alert",
    "protect_content", "drop_pending_updates", "offset", "timeout", "limit", "message_id",
    "user_id", "message_thread_id", "cache_time",
})

# -- Telegram HTML ------------------------------------------------------------------------------

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "code": "code", "pre": "pre", "blockquote": "blockquote",
}
_ALLOWED_TAGS = frozenset(_SIMPLE_TAGS) | {"a", "span", "tg-emoji"}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


class TelegramBadRequest(Exception):
    """A 400 the fake answers; ``description`` uses Telegram's wording."""

    def __init__(self, description: str, parameters: dict[str, Any] | None = None, status: int = 400):
        super().__init__(description)
        self.description = description
        self.parameters = parameters
        self.status = status


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _parse_attrs(raw: str, tag: str, offset: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    raw = raw.rstrip()
    while pos < len(raw):
        m = _ATTR_RE.match(raw, pos)
        if not m or m.end() == pos:
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Can't parse attributes of tag \"{tag}\" "
                f"at byte offset {offset}"
            )
        value = next((v for v in m.group(2, 3, 4) if v is not None), "")
        if "<" in value:
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Unescaped \"<\" in an attribute of \"{tag}\" "
                f"at byte offset {offset}"
            )
        attrs[m.group(1).lower()] = _unescape(value, offset)
        pos = m.end()
    return attrs


def _unescape(text: str, offset: int) -> str:
    """Replace the entities Telegram supports; a bare ``&`` is an error here (escaping bug)."""
    out: list[str] = []
    pos = 0
    while True:
        amp = text.find("&", pos)
        if amp < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:amp])
        m = _ENTITY_RE.match(text, amp)
        if not m:
            raise TelegramBadRequest(
                "Bad Request: can't parse entities: Unsupported or unescaped \"&\" character "
                f"at byte offset {offset + amp}"
            )
        out.append(html.unescape(m.group(0)))
        pos = m.end()


def _check_text_chunk(chunk: str, offset: int) -> str:
    if ">" in chunk:
        raise TelegramBadRequest(
            f"Bad Request: can't parse entities: Unescaped \">\" at byte offset {offset + chunk.index('>')}"
        )
    return _unescape(chunk, offset)


def _tag_entity(tag: str, attrs: dict[str, str], offset: int) -> dict[str, Any]:
    """The entity a start tag opens (its offset/length are filled in when it closes)."""
    if tag == "a":
        href = attrs.get("href", "")
        if not href.strip():
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Tag \"a\" must have an \"href\" at byte offset {offset}"
            )
        return {"type": "text_link", "url": href}
    if tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Tag \"span\" must have class \"tg-spoiler\" "
                f"at byte offset {offset}"
            )
        return {"type": "spoiler"}
    if tag == "tg-emoji":
        if not attrs.get("emoji-id", "").isdigit():
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Invalid custom emoji identifier at byte offset {offset}"
            )
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    if tag == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    entity: dict[str, Any] = {"type": _SIMPLE_TAGS[tag]}
    if tag == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    return entity


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram HTML → (plain text, entities with UTF-16 offsets); TelegramBadRequest if invalid."""
    plain: list[str] = []
    plain_len = 0                                   # UTF-16 units so far
    stack: list[tuple[str, dict[str, Any], int]] = []   # (tag, entity, start offset)
    entities: list[dict[str, Any]] = []
    pos = 0
    while pos < len(text):
        lt = text.find("<", pos)
        chunk = text[pos:] if lt < 0 else text[pos:lt]
        piece = _check_text_chunk(chunk, pos)
        plain.append(piece)
        plain_len += utf16_len(piece)
        if lt < 0:
            break
        m = _TAG_RE.match(text, lt)
        if not m:
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Unsupported start tag at byte offset {lt}"
            )
        closing, tag, raw_attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if tag not in _ALLOWED_TAGS:
            kind = "end" if closing else "start"
            raise TelegramBadRequest(
                f"Bad Request: can't parse entities: Unsupported {kind} tag \"{tag}\" at byte offset {lt}"
            )
        if closing:
            if not stack or stack[-1][0] != tag:
                expected = f"\"{stack[-1][0]}\"" if stack else "none"
                raise TelegramBadRequest(
                    f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                    f"{expected}; unmatched end tag \"{tag}\" at byte offset {lt}"
                )
            _, entity, start = stack.pop()
            if plain_len > start:                   # Telegram drops empty entities
                entity.update(offset=start, length=plain_len - start)
                entities.append(entity)
        else:
            open_tags = {t for t, _, _ in stack}
            if open_tags & {"code", "pre"} and not (tag == "code" and stack[-1][0] == "pre"):
                raise TelegramBadRequest(
                    f"Bad Request: can't parse entities: Tag \"{tag}\" can't be nested in a code block "
                    f"at byte offset {lt}"
                )
            if tag == "a" and "a" in open_tags:
                raise TelegramBadRequest(
                    f"Bad Request: can't parse entities: Nested links at byte offset {lt}"
                )
            attrs = _parse_attrs(raw_attrs, tag, lt)
            stack.append((tag, _tag_entity(tag, attrs, lt), plain_len))
        pos = m.end()
    if stack:
        raise TelegramBadRequest(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f"\"{stack[-1][0]}\""
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def check_message_text(text: str | None, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Validate a message text as sendMessage/editMessageText would; (plain, entities)."""
    if text is None or not text.strip():
        raise TelegramBadRequest("Bad Request: message text is empty")
    if parse_mode is not None and parse_mode.upper() == "HTML":
        plain, entities = parse_html(text)
    elif parse_mode:
        plain, entities = text, []                  # Markdown is not used by newsbot: length only
    else:
        plain, entities = text, []
    if not plain.strip():
        raise TelegramBadRequest("Bad Request: message text is empty")
    if utf16_len(plain) > MAX_TEXT:
        raise TelegramBadRequest("Bad Request: message is too long")
    if len(entities) > MAX_ENTITIES:
        raise TelegramBadRequest(f"Bad Request: too many entities ({len(entities)} > {MAX_ENTITIES})")
    return plain, entities


def check_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise TelegramBadRequest("Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise TelegramBadRequest("Bad Request: field \"inline_keyboard\" must be an Array of Arrays")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise TelegramBadRequest("Bad Request: BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise TelegramBadRequest("Bad Request: BUTTON_DATA_INVALID")
            if data is None and not any(k in button for k in ("url", "switch_inline_query", "login_url",
                                                              "web_app", "pay", "copy_text")):
                raise TelegramBadRequest("Bad Request: can't find field \"callback_data\"")


# -- records ------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One message accepted by sendMessage. Unpacks as (chat_id, text, parse_mode, preview_disabled)."""

    chat_id: int | str
    text: str
    parse_mode: str | None
    preview_disabled: bool
    message_id: int = 0
    reply_markup: dict[str, Any] | None = None
    plain: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.chat_id, self.text, self.parse_mode, self.preview_disabled))

    def buttons(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard rows (empty when none)."""
        return list((self.reply_markup or {}).get("inline_keyboard", []))


@dataclass
class _Fault:
    status: int
    retry_after: float | None = None
    description: str = ""


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_KEYS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        elif key == "chat_id" and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = int(value)
        params[key] = value
    return params


def _chat_key(chat_id: Any) -> int | str:
    if isinstance(chat_id, str):
        try:
            return int(chat_id)
        except ValueError:
            return chat_id
    return chat_id


# -- the server ---------------------------------------------------------------------------------


class FakeBotAPI:
    """A fake Bot API on ``http://127.0.0.1:<port>``. See the module docstring."""

    def __init__(self, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port                        # 0: any free port; kept, so a restart reuses it
        self.expected_token = token             # if set, other tokens get 401 Unauthorized
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._wake_event: asyncio.Event | None = None
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._late: dict[str, float] = {}
        self._resets: dict[str | None, int] = {}
        self._blocked: set[int | str] = set()
        self._migrated: dict[int | str, int] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._admins: dict[int | str, tuple[int | None, set[int]]] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._open_callbacks: dict[str, dict[str, Any]] = {}
        self._rate: dict[str, Any] | None = None
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int | str, deque[float]] = {}
        self.confirmed_offset = 0
        self.sent: list[Sent] = []
        self.edits: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.errors: list[tuple[str, int, str]] = []
        self.unknown_methods: list[str] = []
        self.tokens_seen: set[str] = set()
        self.too_many = 0
        self.timeline: list[tuple[float, str, int, Any]] = []
        self._last_chat: dict[int, Any] = {}
        self.late_abandoned = 0                 # processed requests whose late answer nobody waited for

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeBotAPI:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise RuntimeError(f"fake Bot API did not start: {failure[0]!r}")
        return self

    async def _serve(self) -> None:
        self._wake_event = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []   # noqa: SLF001 - ephemeral port
        self.port = sockets[0].getsockname()[1]

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"http://{self.host}:{self.port}/bot"

    def url(self, token: str, method: str) -> str:
        return f"{self.base_url}{token}/{method}"

    # -- chats and updates ----------------------------------------------------------------------

    def add_chat(self, chat_id: int | str, chat_type: str = "private", *, title: str = "",
                 username: str = "", first_name: str = "") -> dict[str, Any]:
        """Declare a chat (type, title, @username); unknown ones are made up on first use."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat["username"] = chat_id[1:]
        if chat_type == "private":
            chat["first_name"] = first_name or "User"
        else:
            chat["title"] = title or f"{chat_type} {chat_id}"
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[_chat_key(chat_id)] = chat
        return chat

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        key = _chat_key(chat_id)
        with self._lock:
            chat = self._chats.get(key)
        if chat is None:
            if isinstance(key, str):
                chat = self.add_chat(key, "channel", title=key)
            else:
                chat = self.add_chat(key, "private" if key > 0 else "group")
        return chat

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (an ``update_id`` is assigned when absent); returns its id."""
        with self._lock:
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
        self._wake()
        return update["update_id"]

    def _user(self, user_id: int, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def push_message(self, chat_id: int, text: str, *, user_id: int | None = None,
                     chat_type: str = "private", language_code: str | None = "fr",
                     entities: list[dict[str, Any]] | None = None) -> int:
        """Queue a text message from a user; returns the update id."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 555000 + abs(chat_id) % 1000
        chat = self._chat(chat_id)
        if chat["type"] != chat_type:
            chat = self.add_chat(chat_id, chat_type)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(user_id, language_code),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        return self.push_update({"message": message})

    def push_command(self, chat_id: int, text: str, *, user_id: int | None = None,
                     chat_type: str = "private", language_code: str | None = "fr") -> int:
        """Queue a command message (``/start``, ``/follow ukraine``...) with its bot_command entity."""
        command = text.split(maxsplit=1)[0] if text.strip() else text
        entities = None
        if command.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self.push_message(chat_id, text, user_id=user_id, chat_type=chat_type,
                                 language_code=language_code, entities=entities)

    def push_callback(self, chat_id: int, data: str, message_id: int, *, user_id: int | None = None,
                      chat_type: str = "private", language_code: str | None = "fr") -> str:
        """Queue a tap on an inline button of the bot's message ``message_id``; returns the query id."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 555000 + abs(chat_id) % 1000
        query_id = str(next(self._callback_ids))
        with self._lock:
            message = self._messages.get((_chat_key(chat_id), message_id))
        if message is None:
            message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id),
                       "from": BOT_USER, "text": "?"}
        query = {
            "id": query_id,
            "from": self._user(user_id, language_code),
            "message": message,
            "chat_instance": f"ci{chat_id}",
            "data": data,
        }
        with self._lock:
            self._open_callbacks[query_id] = query
        self.push_update({"callback_query": query})
        return query_id

    @property
    def pending_updates(self) -> int:
        """Updates pushed and not yet confirmed by a later getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_on_loop)

    def _wake_on_loop(self) -> None:
        old, self._wake_event = self._wake_event, asyncio.Event()
        if old is not None:
            old.set()

    # -- fault controls -------------------------------------------------------------------------

    def block(self, chat_id: int | str) -> None:
        """Every send to ``chat_id`` answers 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(_chat_key(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(_chat_key(chat_id))

    def migrate(self, chat_id: int, new_id: int) -> None:
        """Group ``chat_id`` became supergroup ``new_id``: sends to the old id get a 400 with
        ``parameters.migrate_to_chat_id``."""
        with self._lock:
            self._migrated[_chat_key(chat_id)] = new_id
        self.add_chat(new_id, "supergroup", title=self._chat(chat_id).get("title", ""))

    def fail_next(self, method: str, status: int, n: int = 1, retry_after: float | None = None,
                  description: str = "") -> None:
        """The next ``n`` calls of ``method`` (``"*"`` = any but getUpdates) fail with ``status``."""
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(n):
                queue.append(_Fault(status, retry_after, description))

    def delay(self, method: str, seconds: float, *, after: bool = False) -> None:
        """Every call of ``method`` (``"*"`` = all) waits ``seconds`` before answering (0 clears).

        ``after=False`` waits before doing anything (a client that gives up first leaves nothing
        done); ``after=True`` does the work first (the message is sent and recorded) and then
        holds the answer back: what a request that timed out at the client after Telegram
        accepted it looks like.
        """
        table = self._late if after else self._delays
        with self._lock:
            if seconds > 0:
                table[method] = seconds
            else:
                table.pop(method, None)

    def reset_connections(self, n: int = 1, method: str | None = None) -> None:
        """Drop the connection of the next ``n`` requests without answering.

        ``method=None`` hits any method except getUpdates (the polling loop would take them at
        random otherwise).
        """
        with self._lock:
            self._resets[method] = self._resets.get(method, 0) + n

    def rate_limit(self, per_second: float | None = 30, per_chat: float | None = None,
                   per_group_per_minute: int | None = None, window: float = 1.0) -> None:
        """Answer 429 (with retry_after) to sends beyond ``per_second`` over any ``window`` seconds,
        beyond ``per_chat`` per second to one chat, or ``per_group_per_minute`` to one group.
        ``rate_limit(None)`` turns it off."""
        with self._lock:
            if per_second is None and per_chat is None and per_group_per_minute is None:
                self._rate = None
            else:
                self._rate = {"global": per_second, "chat": per_chat, "group": per_group_per_minute,
                              "window": window}
            self._send_times.clear()
            self._chat_send_times.clear()

    def set_admins(self, chat_id: int, user_ids: list[int] | set[int], *, owner: int | None = None) -> None:
        """Group administrators (and owner) answered by getChatMember / getChatAdministrators."""
        with self._lock:
            self._admins[_chat_key(chat_id)] = (owner, set(user_ids))

    # -- waiting helpers ------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        """Wait (async) until ``predicate()`` is true; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}; calls: "
                                     f"{[m for m, _ in self.calls][-20:]}, errors: {self.errors[-5:]}")
            await asyncio.sleep(0.01)

    def wait_for_sync(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            time.sleep(0.01)

    def sent_to(self, chat_id: int | str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.chat_id == _chat_key(chat_id)]

    async def wait_sent(self, n: int, chat_id: int | str | None = None, timeout: float = 5.0) -> list[Sent]:
        """Wait until at least ``n`` messages went (to ``chat_id``); returns them."""
        def got() -> list[Sent]:
            return self.sent_to(chat_id) if chat_id is not None else list(self.sent)

        await self.wait_for(lambda: len(got()) >= n, timeout, f"{n} message(s) to {chat_id}")
        return got()

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for m, p in self.calls if m == method]

    async def wait_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.calls_of(method)) >= n, timeout, f"{n} call(s) of {method}")
        return self.calls_of(method)

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The bot's message as it stands now (after edits)."""
        with self._lock:
            return self._messages.get((_chat_key(chat_id), message_id))

    # -- HTTP -----------------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    for k, v in body.items():
                        raw[k] = v if isinstance(v, str) else json.dumps(v)
            else:
                form = await request.post()
                for k, v in form.items():
                    raw[k] = v if isinstance(v, str) else getattr(v, "filename", "file")
        return _decode_params(raw)

    def _take_reset(self, method: str) -> bool:
        with self._lock:
            for key in (method, None):
                if key is None and method == "getUpdates":
                    continue
                if self._resets.get(key, 0) > 0:
                    self._resets[key] -= 1
                    return True
        return False

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for key in (method, "*"):
                if key == "*" and method == "getUpdates":
                    continue
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            response = await self._answer(request)
        finally:
            with self._lock:
                chat_id = self._last_chat.pop(id(request), None)
        with self._lock:
            self.timeline.append((time.monotonic(), method, response.status, chat_id))
            late = self._late.get(method, self._late.get("*", 0.0))
        if late:
            try:
                await asyncio.sleep(late)      # processed; the answer is late
            except asyncio.CancelledError:     # the client gave up (timed out) and closed the connection
                with self._lock:
                    self.late_abandoned += 1
                raise
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        try:
            params = await self._read_params(request)
        except (ValueError, json.JSONDecodeError):
            return self._error(method, 400, "Bad Request: can't parse request body")
        with self._lock:
            self.calls.append((method, params))
            self.tokens_seen.add(token)
            self._last_chat[id(request)] = params.get("chat_id")
            delay = self._delays.get(method, self._delays.get("*", 0.0))
        if self.expected_token is not None and token != self.expected_token:
            return self._error(method, 401, "Unauthorized")
        if self._take_reset(method):
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if delay:
            await asyncio.sleep(delay)
        fault = self._take_fault(method)
        if fault is not None:
            return self._fault_response(method, fault)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            with self._lock:
                self.unknown_methods.append(method)
            return self._error(method, 404, "Not Found")
        try:
            result = await handler(params)
        except TelegramBadRequest as exc:
            return self._error(method, exc.status, exc.description, exc.parameters)
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, status: int, description: str,
               parameters: dict[str, Any] | None = None) -> web.Response:
        with self._lock:
            self.errors.append((method, status, description))
            if status == 429:
                self.too_many += 1
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    def _fault_response(self, method: str, fault: _Fault) -> web.Response:
        if fault.status == 429:
            retry = fault.retry_after if fault.retry_after is not None else 1
            return self._error(method, 429, fault.description or f"Too Many Requests: retry after {retry}",
                               {"retry_after": retry})
        default = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
                   500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                   504: "Gateway Timeout"}.get(fault.status, "Error")
        return self._error(method, fault.status, fault.description or default)

    # -- sending checks -------------------------------------------------------------------------

    def _next_message_id(self, chat_id: Any) -> int:
        with self._lock:
            counter = self._message_ids.setdefault(_chat_key(chat_id), itertools.count(1))
            return next(counter)

    def _check_destination(self, chat_id: Any) -> dict[str, Any]:
        if chat_id is None or chat_id == "":
            raise TelegramBadRequest("Bad Request: chat_id is empty")
        key = _chat_key(chat_id)
        with self._lock:
            if key in self._migrated:
                raise TelegramBadRequest("Bad Request: group chat was upgraded to a supergroup chat",
                                         {"migrate_to_chat_id": self._migrated[key]})
            if key in self._blocked:
                chat = self._chats.get(key, {})
                reason = ("bot was blocked by the user" if chat.get("type", "private") == "private"
                          else "bot was kicked from the group chat")
                raise TelegramBadRequest(f"Forbidden: {reason}", status=403)
        return self._chat(chat_id)

    def _check_rate(self, chat: dict[str, Any]) -> None:
        with self._lock:
            rate = self._rate
            if rate is None:
                return
            now = time.monotonic()
            window = rate["window"]
            while self._send_times and now - self._send_times[0] >= window:
                self._send_times.popleft()
            key = _chat_key(chat["id"])
            per_chat = self._chat_send_times.setdefault(key, deque())
            while per_chat and now - per_chat[0] >= 60:
                per_chat.popleft()
            waits: list[float] = []
            if rate["global"] is not None and len(self._send_times) >= rate["global"] * window:
                waits.append(window - (now - self._send_times[0]))
            if rate["chat"] is not None:
                recent = [t for t in per_chat if now - t < 1.0]
                if len(recent) >= rate["chat"]:
                    waits.append(1.0 - (now - recent[0]))
            if rate["group"] is not None and chat.get("type") in ("group", "supergroup") \
                    and len(per_chat) >= rate["group"]:
                waits.append(60.0 - (now - per_chat[0]))
            if waits:
                retry = max(1, math.ceil(max(waits)))
                raise TelegramBadRequest(f"Too Many Requests: retry after {retry}",
                                         {"retry_after": retry}, status=429)
            self._send_times.append(now)
            per_chat.append(now)

    @staticmethod
    def _preview_disabled(params: dict[str, Any]) -> bool:
        options = params.get("link_preview_options")
        if isinstance(options, dict) and options.get("is_disabled"):
            return True
        return params.get("disable_web_page_preview") is True

    def _build_message(self, chat: dict[str, Any], message_id: int, plain: str,
                       entities: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "chat": chat, "from": BOT_USER,
            "text": plain,
        }
        if entities:
            message["entities"] = entities
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        return message

    # -- methods --------------------------------------------------------------------------------

    async def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(timeout, 50.0)
        while True:
            event = self._wake_event
            with self._lock:
                if offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                    self.confirmed_offset = max(self.confirmed_offset, offset)
                    ready = self._updates[:limit]
                elif offset < 0:
                    ready = self._updates[offset:][:limit]
                else:
                    ready = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or event is None:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._check_destination(params.get("chat_id"))
        plain, entities = check_message_text(params.get("text"), params.get("parse_mode"))
        check_reply_markup(params.get("reply_markup"))
        self._check_rate(chat)
        message_id = self._next_message_id(chat["id"])
        message = self._build_message(chat, message_id, plain, entities, params)
        markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else None
        record = Sent(
            chat_id=_chat_key(chat["id"]), text=params["text"], parse_mode=params.get("parse_mode"),
            preview_disabled=self._preview_disabled(params), message_id=message_id,
            reply_markup=markup, plain=plain, entities=entities,
        )
        with self._lock:
            self._messages[(record.chat_id, message_id)] = message
            self.sent.append(record)
        return message

    def _existing(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if params.get("inline_message_id"):
            raise TelegramBadRequest("Bad Request: inline messages are not supported by the fake")
        chat = self._check_destination(params.get("chat_id"))
        try:
            message_id = int(params.get("message_id"))   # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TelegramBadRequest("Bad Request: message identifier is not specified") from None
        with self._lock:
            message = self._messages.get((_chat_key(chat["id"]), message_id))
        if message is None:
            raise TelegramBadRequest("Bad Request: message to edit not found")
        return chat, message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, old = self._existing(params)
        plain, entities = check_message_text(params.get("text"), params.get("parse_mode"))
        check_reply_markup(params.get("reply_markup"))
        new = self._build_message(chat, old["message_id"], plain, entities, params)
        new["edit_date"] = int(time.time())
        same = (old.get("text") == plain and old.get("entities", []) == entities
                and old.get("reply_markup") == new.get("reply_markup"))
        if same:
            raise TelegramBadRequest(
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        with self._lock:
            self._messages[(_chat_key(chat["id"]), old["message_id"])] = new
            self.edits.append({"method": "editMessageText", **params})
        return new

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, old = self._existing(params)
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        new = dict(old)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        if new.get("reply_markup") == old.get("reply_markup"):
            raise TelegramBadRequest(
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = int(time.time())
        with self._lock:
            self._messages[(_chat_key(chat["id"]), old["message_id"])] = new
            self.edits.append({"method": "editMessageReplyMarkup", **params})
        return new

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        with self._lock:
            query = self._open_callbacks.pop(query_id, None)
        if query is None:
            raise TelegramBadRequest(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise TelegramBadRequest("Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            self.callback_answers.append(params)
        return True

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope")
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
        if isinstance(scope, dict) and "chat_id" in scope:        # chat scopes: "chat:<id>"
            scope_type = f"{scope_type}:{scope['chat_id']}"
        return scope_type, str(params.get("language_code") or "")

    async def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise TelegramBadRequest("Bad Request: can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            desc = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise TelegramBadRequest("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise TelegramBadRequest("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise TelegramBadRequest("Bad Request: LANGUAGE_CODE_INVALID")
        with self._lock:
            self.commands[self._scope_key(params)] = commands
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.commands.get(self._scope_key(params), []))

    async def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self.commands.pop(self._scope_key(params), None)
        return True

    def _member(self, chat_id: Any, user_id: int) -> dict[str, Any]:
        with self._lock:
            owner, admins = self._admins.get(_chat_key(chat_id), (None, set()))
        user = self._user(user_id, None)
        if owner == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in admins:
            rights = dict.fromkeys((
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                "can_delete_stories", "can_pin_messages",
            ), False)
            rights.update(can_manage_chat=True, can_change_info=True)
            return {"status": "administrator", "user": user, **rights}
        return {"status": "member", "user": user}

    async def _m_getchatmember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._check_destination(params.get("chat_id"))
        try:
            user_id = int(params.get("user_id"))      # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TelegramBadRequest("Bad Request: user not found") from None
        if chat["type"] == "private":
            return {"status": "member", "user": self._user(user_id, None)} if user_id != chat["id"] \
                else {"status": "creator", "user": self._user(user_id, None), "is_anonymous": False}
        return self._member(chat["id"], user_id)

    async def _m_getchatadministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._check_destination(params.get("chat_id"))
        if chat["type"] == "private":
            raise TelegramBadRequest("Bad Request: there are no administrators in the private chat")
        with self._lock:
            owner, admins = self._admins.get(_chat_key(chat["id"]), (None, set()))
        ids = ([owner] if owner is not None else []) + sorted(admins - {owner})
        return [self._member(chat["id"], uid) for uid in ids]

    async def _m_getchat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._check_destination(params.get("chat_id"))
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False}}

    async def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        self._check_destination(params.get("chat_id"))
        return True

    async def _m_leavechat(self, params: dict[str, Any]) -> bool:
        self._check_destination(params.get("chat_id"))
        return True


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    """A started fake Bot API server, stopped after the test."""
    server = FakeBotAPI().start()
    try:
        yield server
    finally:
        server.stop()
