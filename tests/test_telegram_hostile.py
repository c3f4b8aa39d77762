"""Hostile Telegram input through the real Application (issue 6, "Telegram input").

Every update below comes from the fake Bot API's ``getUpdates`` to the real python-telegram-bot
Application that ``newsbot run`` builds, over real HTTP, with a real SQLite file. Each one gets a
polite answer or is ignored: never a traceback, never the error handler (no ERROR record from
``bot.pipeline.telegram``), never an answer Telegram would refuse (the fake validates every message), and
nothing stored that should not be. Cases already covered in tests/test_bot_commands.py are not
repeated here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram.handlers.command import MAX_COMMAND_CHARS
from tests.bot_harness import ADMIN, Harness, running_bot
from tests.fakebotapi import BOT_USERNAME, FakeBotAPI, fake_bot_api, utf16_len

__all__ = ["fake_bot_api"]

SILENT = None


@dataclass
class Case:
    chat_id: int
    expect: str | None            # a piece of the answer's plain text, or SILENT


def bad_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records from our code or PTB, and anything from the error handler."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if (r.levelno >= logging.ERROR and r.name.startswith(("bot", "telegram")))
            or "error while handling" in r.getMessage()]


async def settle(h: Harness, cases: list[Case], last_update: int) -> None:
    """Wait until every update was fetched, every expected answer came, and a little more."""
    fake = h.fake
    await fake.wait_for(lambda: fake.confirmed_offset > last_update, what="updates consumed")
    expected = [c.chat_id for c in cases if c.expect is not SILENT]
    await fake.wait_for(lambda: all(fake.sent_to(chat_id) for chat_id in expected), what="answers")
    await asyncio.sleep(0.3)                               # late or extra answers would show now


def check(h: Harness, cases: list[Case], base: dict[int, int] | None = None) -> None:
    for case in cases:
        got = h.fake.sent_to(case.chat_id)[(base or {}).get(case.chat_id, 0):]
        if case.expect is SILENT:
            assert got == [], (case, [s.plain for s in got])
        else:
            assert len(got) == 1, (case, [s.plain for s in got])
            assert case.expect in got[0].plain, (case, got[0].plain)
            assert "Traceback" not in got[0].plain


def user(user_id: int, language: str = "fr") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"U{user_id}", "language_code": language}


def message(fake: FakeBotAPI, chat_id: int, chat_type: str = "private", **fields: Any) -> dict[str, Any]:
    chat = fake.add_chat(chat_id, chat_type)
    out = {"message_id": 1, "date": int(time.time()), "chat": chat}
    if chat_type != "channel":
        out["from"] = user(chat_id if chat_type == "private" else 7777)
    out.update(fields)
    return out


def command_entity(text: str) -> list[dict[str, Any]]:
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split(maxsplit=1)[0])}]


async def test_long_unknown_foreign_and_odd_commands(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    fake = fake_bot_api
    group = -6001
    fake.set_admins(group, {7777})
    commands: list[tuple[Case, str, str]] = [
        # Over-long commands, up to Telegram's own 4,096-character ceiling.
        (Case(301, "trop long"), "/search " + "x" * 4088, "private"),
        (Case(302, "trop long"), "/" + "y" * 4095, "private"),
        (Case(303, "trop long"), "/start " + "😀" * 2040, "private"),               # 4,087 UTF-16 units
        (Case(304, "trop long"), "/time " + "7:30 " * 818, "private"),
        (Case(305, "trop long"), "/search@" + BOT_USERNAME + " " + "z" * 4000, "private"),
        (Case(306, "trop long"), "/stats " + "s" * (MAX_COMMAND_CHARS + 1), "private"),
        # Unknown commands, look-alikes and odd shapes.
        (Case(311, "ne connais pas la commande /ѕtart"), "/ѕtart", "private"),       # Cyrillic ѕ
        (Case(312, "ne connais pas la commande"), "/start\u202egnp.exe", "private"),
        (Case(313, "ne connais pas la commande"), "/", "private"),
        (Case(314, "ne connais pas la commande"), "/<i>x</i>&amp;", "private"),
        (Case(315, "ne connais pas la commande"), "/x@" + BOT_USERNAME, "private"),
        # Addressed to another bot: never ours to answer, nothing subscribed.
        (Case(321, SILENT), "/start@other_bot", "private"),
        (Case(322, SILENT), "/help@other_bot please", "private"),
        (Case(group, SILENT), "/stats@other_bot", "group"),
        # Addressed to us explicitly, any case.
        (Case(323, "/digest"), "/HELP@" + BOT_USERNAME.upper(), "private"),
        # Commands are only commands at offset 0: the rest is text.
        (Case(324, "seulement les commandes"), "bonjour /start", "private"),
        (Case(325, "seulement les commandes"), "\x00\u202e\u200b", "private"),
    ]
    async with running_bot(tmp_path, fake) as h:
        last = 0
        for case, text, chat_type in commands:
            starts_command = text.startswith("/")
            last = fake.push_message(case.chat_id, text, chat_type=chat_type,
                                     user_id=7777 if chat_type == "group" else None,
                                     entities=command_entity(text) if starts_command else None)
        cases = [c for c, _, _ in commands]
        await settle(h, cases, last)
        check(h, cases)
        for chat_id in (303, 321, 322, group, 311, 312):
            assert h.chat(chat_id) is None                      # nothing subscribed by any of them
    assert not [e for e in fake.errors if e[1] == 400], fake.errors
    assert bad_records(caplog) == []


FTS_QUERIES = [
    "title:pyongyang", "summary:essai", "{title summary}:essai", "NEAR(essai pyongyang, 2)",
    "essai + pyongyang", "pyong*ang", '"a" "b', "\x00", "%_%", "1e999", "-pyongyang", "^pyongyang",
    "a:b:c", "NOT", "'); DROP TABLE articles;--", "\u202epyongyang", "😀", "ﷺ", "pyongyang AND",
    "rowid:1", "articles_fts:x", "* OR *", "(pyongyang", "a" * 400,
]


async def test_search_with_fts_syntax_never_breaks(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Query syntax the tests in test_bot_commands.py do not try (column filters, NEAR with a
    distance, SQL, NUL, RTL override, a 400-letter word): every one answers "no story" or lists
    the story, and the store is intact."""
    fake = fake_bot_api
    async with running_bot(tmp_path, fake) as h:
        h.world.story("Pyongyang essai balistique", sources=("Le Monde", "AFP"))
        cases = []
        last = 0
        for i, query in enumerate(FTS_QUERIES):
            case = Case(400 + i, "")
            cases.append(case)
            last = fake.push_message(case.chat_id, f"/search {query}", entities=command_entity("/search"))
        await settle(h, [Case(c.chat_id, "x") for c in cases], last)
        for case, query in zip(cases, FTS_QUERIES, strict=True):
            [answer] = fake.sent_to(case.chat_id)
            assert "Aucun article" in answer.plain or "Pyongyang essai" in answer.plain, (query, answer.plain)
        # Column filters are not honoured: they are plain words like any other.
        assert "Aucun article" in fake.sent_to(400)[0].plain
        assert "Pyongyang essai" in fake.sent_to(404)[0].plain      # essai + pyongyang
        assert h.db(lambda db: db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]) == 2
    assert not fake.errors, fake.errors
    assert bad_records(caplog) == []


TIME_GARBAGE = ["٠٧:٣٠", "０７:３０", "७:३०", "7:30:00", "-1", "24:00", "99999999999999999999", "7:3", "::",
                "h", "1e3", "7:30\x00", "²:00", "𝟕:𝟑𝟎", "0x7", "07:30 ٠٨:٠٠", "7:3٠", "07:0𝟎", "٧:٣٠"]
ZONE_GARBAGE = ["UTC+3:75", "GMT-25", "UTC+5:30", "posix/Europe/Paris", "localtime", "Factory",
                "../../etc/passwd", "a" * 65, "🙂", "Europe/Paris\x00", "Europe/Paris Europe/London",
                "right/UTC", "Etc/GMT+99", "Europe/Paris/../../x", "%00"]


async def test_time_and_timezone_garbage(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                         caplog: pytest.LogCaptureFixture) -> None:
    """Each is refused with a helpful answer (a suggestion at most) and nothing changes: in
    particular non-ASCII digits ("٠٧:٣٠", full-width, mathematical bold) are not times."""
    fake = fake_bot_api
    values = [("/time", v) for v in TIME_GARBAGE] + [("/timezone", v) for v in ZONE_GARBAGE]
    async with running_bot(tmp_path, fake) as h:
        for i in range(len(values)):
            await h.command(500 + i, "/start")
        base = {500 + i: 1 for i in range(len(values))}
        last = 0
        for i, (name, value) in enumerate(values):
            last = fake.push_message(500 + i, f"{name} {value}", entities=command_entity(name))
        cases = [Case(500 + i, "n'est pas une heure" if name == "/time" else "n'est pas un fuseau horaire")
                 for i, (name, _) in enumerate(values)]
        await fake.wait_for(lambda: fake.confirmed_offset > last, what="updates consumed")
        await fake.wait_for(lambda: all(len(fake.sent_to(c.chat_id)) > 1 for c in cases), what="answers")
        await asyncio.sleep(0.2)
        check(h, cases, base)
        for i in range(len(values)):
            assert h.db(chat_store.chat_times, 500 + i) == ["08:00", "19:00"], values[i]
            assert h.chat(500 + i)["timezone"] == "Europe/Paris", values[i]
    assert not fake.errors, fake.errors
    assert bad_records(caplog) == []


async def test_forged_unknown_and_stale_callbacks(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Button taps the bot never offered: each is answered (no endless spinner), the tags are
    unchanged, and nothing reaches the error handler."""
    fake = fake_bot_api
    async with running_bot(tmp_path, fake) as h:
        await h.command(42, "/start")
        (menu,) = await h.command(42, "/tags")
        before = h.db(chat_store.chat_tags, 42)
        forged = ["tag:../../etc/passwd", "tag:" + "x" * 60, "tag:#0123456789abcdef", "tag:", "tag:\x00",
                  "\x00\x01ÿ", "digest:now", "x" * 64, "tag:ukraine\n", "TAG:ukraine"]
        for data in forged:
            answer = await h.tap(42, data, menu.message_id)
            assert answer.get("text"), data
            assert h.db(chat_store.chat_tags, 42) == before, data
        # A tap from a chat that never subscribed, and from one that is not the keyboard's.
        answer = await h.tap(77, "tag:ukraine", 1)
        assert "/start" in answer["text"] and h.chat(77) is None
        # A real tag on a keyboard message that no longer exists (deleted by the user): the
        # toggle happens, the redraw cannot, and that is not an error.
        answer = await h.tap(42, "tag:ukraine", 99_999)
        assert answer["text"] == "✓ Ukraine : suivi"
        assert h.db(chat_store.chat_tags, 42) == {"ukraine"}              # from everything: only ukraine
    assert not [e for e in fake.errors if e[0] != "editMessageReplyMarkup"], fake.errors
    assert bad_records(caplog) == []


async def test_updates_without_commands_are_ignored(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Edited commands, stickers, photos captioned "/start", service messages, channel posts,
    the bot being made a channel admin, an automatic forward from a linked channel in a group."""
    fake = fake_bot_api
    group, channel = -6101, -1006102
    async with running_bot(tmp_path, fake) as h:
        await h.command(42, "/start")
        updates: list[tuple[Case, dict[str, Any]]] = [
            (Case(601, SILENT), {"edited_message": message(
                fake, 601, text="/start", entities=command_entity("/start"), edit_date=int(time.time()))}),
            (Case(602, SILENT), {"message": message(fake, 602, sticker={
                "file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False})}),
            (Case(603, SILENT), {"message": message(fake, 603, photo=[{
                "file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}], caption="/start",
                caption_entities=command_entity("/start"))}),
            (Case(604, SILENT), {"message": message(fake, 604, location={"latitude": 48.8,
                                                                         "longitude": 2.3})}),
            (Case(group, SILENT), {"message": message(fake, group, "group", new_chat_members=[user(9)])}),
            (Case(group - 1, SILENT), {"message": message(fake, group - 1, "group",
                                                          left_chat_member=user(9))}),
            (Case(channel, SILENT), {"channel_post": message(
                fake, channel, "channel", text="/start", entities=command_entity("/start"))}),
            (Case(channel - 1, SILENT), {"edited_channel_post": message(
                fake, channel - 1, "channel", text="/stats", entities=command_entity("/stats"),
                edit_date=int(time.time()))}),
            (Case(channel - 2, SILENT), {"my_chat_member": {
                "chat": fake.add_chat(channel - 2, "channel"), "from": user(5), "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": {"id": 1, "is_bot": True, "first_name": "b"}},
                "new_chat_member": {"status": "administrator", "user": {"id": 1, "is_bot": True,
                                                                        "first_name": "b"},
                                    **dict.fromkeys((
                                        "can_be_edited", "is_anonymous", "can_manage_chat",
                                        "can_delete_messages", "can_manage_video_chats",
                                        "can_restrict_members", "can_promote_members", "can_change_info",
                                        "can_invite_users", "can_post_stories", "can_edit_stories",
                                        "can_delete_stories"), False)}}}),
            (Case(channel - 3, SILENT), {"my_chat_member": {
                "chat": fake.add_chat(channel - 3, "channel"), "from": user(5), "date": int(time.time()),
                "old_chat_member": {"status": "administrator", "user": {"id": 1, "is_bot": True,
                                                                        "first_name": "b"},
                                    **dict.fromkeys(("can_be_edited", "is_anonymous", "can_manage_chat",
                                                     "can_delete_messages", "can_manage_video_chats",
                                                     "can_restrict_members", "can_promote_members",
                                                     "can_change_info", "can_invite_users",
                                                     "can_post_stories", "can_edit_stories",
                                                     "can_delete_stories"), False)},
                "new_chat_member": {"status": "kicked", "until_date": 0,
                                    "user": {"id": 1, "is_bot": True, "first_name": "b"}}}}),
            # An automatic forward from the group's linked channel: not an administrator speaking.
            (Case(group - 2, "seuls les administrateurs"), {"message": message(
                fake, group - 2, "supergroup", text="/time 09:00", entities=command_entity("/time"),
                sender_chat={"id": channel, "type": "channel", "title": "linked"},
                **{"from": {"id": 777000, "is_bot": False, "first_name": "Telegram"}})}),
            # An update of a kind newsbot never asked for.
            (Case(605, SILENT), {"message_reaction": {
                "chat": fake.add_chat(605), "message_id": 1, "date": int(time.time()), "user": user(605),
                "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}),
        ]
        fake.set_admins(group - 2, {1}, owner=1)
        last = 0
        for _, update in updates:
            last = fake.push_update(update)
        cases = [c for c, _ in updates]
        await settle(h, cases, last)
        check(h, cases)
        for chat_id in (601, 603, channel, channel - 1, channel - 2, channel - 3, group - 2):
            assert h.chat(chat_id) is None, chat_id
        (helped,) = await h.command(42, "/help")                 # the bot is still answering
        assert "/digest" in helped.plain
    assert not fake.errors, fake.errors
    assert bad_records(caplog) == []


ALL_COMMANDS = ["/start", "/stop", "/tags", "/follow ukraine", "/unfollow ukraine", "/digest", "/time 09:00",
                "/timezone Asia/Tokyo", "/search kyiv", "/settings", "/help", "/stats", "/feeds", "/reload",
                "/addfeed https://feeds.example/rss", "/removefeed Le Monde"]


async def test_chats_not_allowed_and_non_admins(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """With ``allow = [42]``: every command from another chat is refused politely (a tap too)
    and nothing is stored; admin commands from a subscribed user, a group's own administrator
    or a group member, addressed or not, are refused."""
    fake = fake_bot_api
    group = -6201
    fake.set_admins(group, {31}, owner=31)
    async with running_bot(tmp_path, fake, telegram=f"allow = [42, {group}]") as h:
        await h.command(42, "/start")
        cases: list[Case] = []
        last = 0
        for i, text in enumerate(ALL_COMMANDS):
            chat_id = 700 + i
            cases.append(Case(chat_id, "pas autorisé"))
            last = fake.push_message(chat_id, text, entities=command_entity(text))
        await settle(h, cases, last)
        check(h, cases)
        assert h.db(chat_store.list_chats) and all(
            row["chat_id"] == 42 for row in h.db(chat_store.list_chats))
        answer = await h.tap(799, "tag:ukraine", 1)
        assert "pas autorisé" in answer["text"] and answer.get("show_alert") is True

        await h.command(group, "/start", chat_type="group", user_id=31)
        for text in ("/stats", "/feeds", "/reload", f"/stats@{BOT_USERNAME}", "/addfeed https://feeds.example/rss",
                     "/removefeed Le Monde"):
            for user_id in (31, 32):                         # the group's owner, a member
                (refused,) = await h.command(group, text, chat_type="group", user_id=user_id)
                assert "réservée aux administrateurs" in refused.plain, (text, user_id)
            (private,) = await h.command(42, text)
            assert "réservée aux administrateurs" in private.plain
        (stats,) = await h.command(ADMIN, "/stats")              # the bot admin, from anywhere
        assert "Statistiques" in stats.plain
        (in_group,) = await h.command(group, "/stats", chat_type="group", user_id=ADMIN)
        assert "Statistiques" in in_group.plain
    assert not fake.errors, fake.errors
    assert bad_records(caplog) == []
