"""The bot's commands, end to end: real PTB Application ↔ real HTTP ↔ fake Bot API, real SQLite."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram.schedule import digest_job_ids
from tests.bot_harness import ADMIN, Harness, running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api

__all__ = ["fake_bot_api"]


def digest_jobs(h: Harness, chat_id: int) -> list[str]:
    assert h.app.job_queue is not None
    return digest_job_ids(h.app.job_queue, chat_id)


def no_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r.getMessage() for r in caplog.records if "error while handling" in r.getMessage()]
    assert not bad, bad


async def test_start_welcomes_subscribes_and_resumes(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        (welcome,) = await h.command(42, "/start", language_code="fr")
        assert "Bienvenue" in welcome.text and "/tags" in welcome.text and "/digest" in welcome.text
        assert "08:00 et 19:00" in welcome.plain and "Europe/Paris" in welcome.plain
        assert welcome.parse_mode == "HTML"
        chat = h.chat(42)
        assert chat is not None and chat["state"] == "active" and chat["language"] == "fr"
        assert h.db(chat_store.chat_tags, 42) == set()      # no tag chosen = every story
        assert digest_jobs(h, 42) == ["digest:42:08:00", "digest:42:19:00"]

        (english,) = await h.command(43, "/start", language_code="en-GB")
        assert "Welcome!" in english.text and h.chat(43)["language"] == "en"
        (german,) = await h.command(44, "/start", language_code="de")     # neither fr nor en: config's
        assert "Bienvenue" in german.text and h.chat(44)["language"] == "fr"

        await h.command(42, "/tags")
        (stopped,) = await h.command(42, "/stop")
        assert "pause" in stopped.text
        assert h.chat(42)["state"] == "paused" and digest_jobs(h, 42) == []
        (again,) = await h.command(42, "/stop")
        assert "déjà en pause" in again.text
        (back,) = await h.command(42, "/start")
        assert "Content de vous revoir" in back.text
        assert h.chat(42)["state"] == "active" and len(digest_jobs(h, 42)) == 2
    menus = fake_bot_api.commands
    assert {("default", "fr"), ("default", "en"), ("default", ""), (f"chat:{ADMIN}", "")} <= set(menus)
    assert any(c["command"] == "stats" for c in menus[(f"chat:{ADMIN}", "")])
    assert not any(c["command"] == "stats" for c in menus[("default", "fr")])
    assert menus[("default", "en")][0]["description"].startswith("Subscribe")


async def test_tags_keyboard_toggles_and_is_redrawn(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        (menu,) = await h.command(42, "/tags")
        labels = [b["text"] for row in menu.buttons() for b in row]
        assert labels == ["✓ Tout", "Corée du Nord", "Proche-Orient", "Ukraine"]   # everything: no tag ✓
        assert [len(row) for row in menu.buttons()] == [1, 2, 1]
        answer = await h.tap(42, "tag:ukraine", menu.message_id)       # from everything: only Ukraine
        assert answer["text"].startswith("✓ Ukraine")
        assert h.db(chat_store.chat_tags, 42) == {"ukraine"}
        await fake_bot_api.wait_for(lambda: len(fake_bot_api.edits) == 1, what="keyboard edit")
        edited = fake_bot_api.message(42, menu.message_id)["reply_markup"]["inline_keyboard"]
        assert [b["text"] for row in edited for b in row] == [
            "Tout", "Corée du Nord", "Proche-Orient", "✓ Ukraine"]
        await h.tap(42, "tag:middle-east", menu.message_id)
        assert h.db(chat_store.chat_tags, 42) == {"ukraine", "middle-east"}
        answer = await h.tap(42, "tag:ukraine", menu.message_id)
        assert answer["text"] == "Ukraine : plus suivi"
        answer = await h.tap(42, "tag:middle-east", menu.message_id)   # the last one: everything again
        assert answer["text"] == "Vous recevez tous les sujets."
        assert h.db(chat_store.chat_tags, 42) == set()
        await h.tap(42, "tag:north-korea", menu.message_id)
        answer = await h.tap(42, "tag:*", menu.message_id)               # "Tout"
        assert answer["text"] == "Vous recevez tous les sujets." and h.db(chat_store.chat_tags, 42) == set()
        # A tag removed from the config since the keyboard was drawn: told, keyboard refreshed.
        answer = await h.tap(42, "tag:atlantis", menu.message_id)
        assert "n'existe plus" in answer["text"]

        await h.command(7, "/start", language_code="en")
        (menu_en,) = await h.command(7, "/tags", language_code="en")
        assert [b["text"] for row in menu_en.buttons() for b in row] == [
            "✓ Everything", "Middle East", "North Korea", "Ukraine"]


async def test_follow_unfollow_and_typo_suggestions(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        (typo,) = await h.command(42, "/follow ukrane")
        assert "Vouliez-vous dire : ukraine ?" in typo.plain and "/follow ukraine" in typo.plain
        (typo_label,) = await h.command(42, "/unfollow coree du nor")
        assert "/unfollow north-korea" in typo_label.plain
        (nothing,) = await h.command(42, "/follow zzzzqqq")
        assert "/tags" in nothing.plain and "ukraine" not in nothing.plain    # no list of every tag
        (usage,) = await h.command(42, "/follow")
        assert "/follow ukraine" in usage.plain
        (from_all,) = await h.command(42, "/unfollow Corée du Nord")          # following everything
        assert "rien à retirer" in from_all.plain and "/mute north-korea" in from_all.plain
        (only,) = await h.command(42, "/follow ukraine Corée-du-Nord")
        assert "ne suivez plus que : Corée du Nord et Ukraine" in only.plain
        assert h.db(chat_store.chat_tags, 42) == {"ukraine", "north-korea"}
        (done,) = await h.command(42, "/unfollow Corée du Nord")
        assert "ne suivez plus : Corée du Nord" in done.plain and "Sujets suivis : Ukraine" in done.plain
        (again,) = await h.command(42, "/unfollow north-korea")
        assert "ne suiviez pas" in again.plain
        (more,) = await h.command(42, "/follow NORTH-KOREA")
        assert "suivez maintenant : Corée du Nord" in more.plain
        (last,) = await h.command(42, "/unfollow ukraine north-korea")
        assert h.db(chat_store.chat_tags, 42) == set()
        assert "toutes les nouvelles" in last.plain and "Sujets : tous" in last.plain
        (html_word,) = await h.command(42, "/follow <b>&amp;")
        assert "&lt;b&gt;" in html_word.text       # the user's word is escaped, never markup


async def test_digest_sends_once_then_nothing_new(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        h.world.story("Pyongyang tire un missile", sources=("Le Monde", "Reuters", "AFP"),
                      tags=("north-korea",))
        h.world.story("Kyiv sous les drones", sources=("BBC",), tags=("ukraine",))
        h.world.story("Old news", tags=("ukraine",), age=3 * 86400)           # outside the first window
        await h.command(42, "/start")
        (digest,) = await h.command(42, "/digest")
        assert "Pyongyang tire un missile" in digest.plain and "Kyiv sous les drones" in digest.plain
        assert "Old news" not in digest.plain
        assert digest.plain.index("Pyongyang") < digest.plain.index("Kyiv")   # more sources first
        assert digest.preview_disabled and digest.parse_mode == "HTML"
        (second,) = await h.command(42, "/digest")
        assert second.plain == "Rien de nouveau depuis votre dernier résumé."
        h.world.story("Gaza : trêve annoncée", tags=("middle-east",))
        (third,) = await h.command(42, "/digest")
        assert "Gaza" in third.plain and "Pyongyang" not in third.plain
        # Anyone may ask for a digest, but only a subscribed chat gets one.
        (nope,) = await h.command(77, "/digest")
        assert "/start" in nope.plain


async def test_time_and_timezone_validation(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        (bad,) = await h.command(42, "/time 25:00")
        assert "n'est pas une heure" in bad.plain and "/time 07:30 18:00" in bad.plain
        (bad2,) = await h.command(42, "/time 07:30 demain")
        assert "« demain »" in bad2.plain
        assert h.db(chat_store.chat_times, 42) == ["08:00", "19:00"]
        (usage,) = await h.command(42, "/time")
        assert "08:00 et 19:00" in usage.plain
        (too_many,) = await h.command(42, "/time 1 2 3 4 5 6 7")
        assert "Au plus 6" in too_many.plain
        (ok,) = await h.command(42, "/time 7h30 18:00 7:30")
        assert "07:30 et 18:00" in ok.plain
        assert h.db(chat_store.chat_times, 42) == ["07:30", "18:00"]
        assert digest_jobs(h, 42) == ["digest:42:07:30", "digest:42:18:00"]

        (typo,) = await h.command(42, "/timezone Europe/Pariss")
        assert "/timezone Europe/Paris" in typo.plain
        for value in ("../../etc/passwd", "Mars/Olympus", "x" * 200, "\u202e"):
            (refused,) = await h.command(42, f"/timezone {value}")
            assert "fuseau horaire" in refused.plain
        (tz_ok,) = await h.command(42, "/timezone america/new_york")
        assert "America/New_York" in tz_ok.plain
        assert h.chat(42)["timezone"] == "America/New_York"
        (city,) = await h.command(42, "/timezone tokyo")
        assert "Asia/Tokyo" in city.plain
        job = h.app.job_queue.scheduler.get_job("digest:42:07:30")
        assert str(job.trigger.timezone) == "Asia/Tokyo"


async def test_search_survives_fts_syntax(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                          caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        for i in range(12):
            h.world.story(f"Pyongyang essai numéro {i}", age=3600 + i * 60)
        h.world.story('Titre avec <script> & "guillemets"', summary="Pyongyang",
                      link='https://news.example/a?x=1&y="2"&z=<3>' + "/p" * 150)
        (found,) = await h.command(42, "/search pyongyang")
        lines = found.plain.splitlines()
        assert len(lines) == 11                                 # header + ten stories
        assert "<script>" in found.plain and "&lt;script&gt;" in found.text
        link = next(e for e in found.entities if e["type"] == "text_link")
        assert link["url"].startswith('https://news.example/a?x=1&y="2"&z=<3>/p/p')      # intact
        assert "essai numéro 11" not in found.plain             # the oldest ones are cut
        for query in ['"pyongyang', "pyong*", "NEAR(pyongyang", "AND OR NOT", "title:x", "-", "^'\"",
                      "(((", '"', "pyongyang)", "*"]:
            (answer,) = await h.command(42, f"/search {query}")
            assert "Aucun article" in answer.plain or "Pyongyang" in answer.plain, (query, answer.plain)
        (usage,) = await h.command(42, "/search")
        assert "/search" in usage.plain
    assert not [e for e in fake_bot_api.errors if e[1] == 400]
    no_handler_errors(caplog)


async def test_group_non_admin_cannot_change_settings(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    group = -5001
    fake_bot_api.set_admins(group, {11}, owner=10)
    async with running_bot(tmp_path, fake_bot_api) as h:
        (refused,) = await h.command(group, "/start", chat_type="group", user_id=12)
        assert "administrateurs" in refused.plain and h.chat(group) is None
        (not_yet,) = await h.command(group, "/digest", chat_type="group", user_id=12)
        assert "un administrateur peut envoyer /start" in not_yet.plain
        (welcome,) = await h.command(group, "/start", chat_type="group", user_id=11)
        assert "Bienvenue" in welcome.text and h.chat(group)["type"] == "group"
        for text in ("/time 09:00", "/timezone Asia/Tokyo", "/stop", "/follow ukraine", "/tags"):
            (no,) = await h.command(group, text, chat_type="group", user_id=12)
            assert "seuls les administrateurs" in no.plain, text
        assert h.db(chat_store.chat_times, group) == ["08:00", "19:00"] and h.chat(group)["state"] == "active"
        asked = [p for p in fake_bot_api.calls_of("getChatMember") if p["user_id"] == 12]
        assert len(asked) == 1                                   # admin status cached for a minute
        (owner_ok,) = await h.command(group, "/time 09:00", chat_type="group", user_id=10)
        assert "09:00" in owner_ok.plain
        (menu,) = await h.command(group, "/tags", chat_type="group", user_id=11)
        answer = await h.tap(group, "tag:ukraine", menu.message_id, chat_type="group", user_id=12)
        assert answer.get("show_alert") is True and "administrateurs" in answer["text"]
        assert h.db(chat_store.chat_tags, group) == set()          # unchanged: still everything
        # Anyone may read.
        h.world.story("Kyiv : nouvelle offensive", tags=("ukraine",))
        (digest,) = await h.command(group, "/digest", chat_type="group", user_id=12)
        assert "Kyiv" in digest.plain
        (search,) = await h.command(group, "/search kyiv", chat_type="group", user_id=12)
        assert "Kyiv" in search.plain
        (helped,) = await h.command(group, "/help", chat_type="group", user_id=12)
        assert "/digest" in helped.plain
        # Commands for another bot, or unknown ones not addressed to us, are ignored in groups.
        assert await h.quiet(group, "/frobnicate", chat_type="group", user_id=12) == []
        assert await h.quiet(group, "/start@other_bot", chat_type="group", user_id=11) == []


async def test_admin_commands_are_for_admins(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        for text in ("/stats", "/feeds", "/reload"):
            (no,) = await h.command(42, text)
            assert "réservée aux administrateurs" in no.plain, text
        (help_user,) = await h.command(42, "/help")
        assert "/stats" not in help_user.plain

        await h.command(ADMIN, "/start")
        h.world.story("Une histoire", sources=("Le Monde", "AFP"))

        def failing(db: object) -> None:
            db.execute("UPDATE feeds SET error_count = 4, first_error_at = 1.0, "   # type: ignore[attr-defined]
                       "last_error = 'HTTP 503 <Service Unavailable>' WHERE name = 'AFP'")
            db.execute("UPDATE feeds SET dead = 1, error_count = 40, last_error = 'DNS' "  # type: ignore[attr-defined]
                       "WHERE name = 'Le Monde'")

        h.db(failing)
        (stats,) = await h.command(ADMIN, "/stats")
        assert "0 ok, 1 en erreur, 1 morts" in stats.plain and "1 actifs" in stats.plain
        (feeds,) = await h.command(ADMIN, "/feeds")
        assert "Le Monde" in feeds.plain and "HTTP 503 <Service Unavailable>" in feeds.plain
        assert feeds.plain.index("Le Monde") < feeds.plain.index("AFP")     # dead first
        (unavailable,) = await h.command(ADMIN, "/reload")
        assert "pas disponible" in unavailable.plain

        calls: list[str] = []

        async def reload_now() -> str:
            calls.append("reload")
            return "config reloaded: 0 feeds, 3 tags"

        h.app.bot_data["reload"] = reload_now
        (reloaded,) = await h.command(ADMIN, "/reload")
        assert calls == ["reload"] and "Configuration relue : 0 flux, 3 sujets" in reloaded.plain
        (help_admin,) = await h.command(ADMIN, "/help")
        assert "/stats" in help_admin.plain


async def test_reload_goes_through_the_feed_scheduler(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api, poll_feeds=True) as h:
        config_file = h.config.path
        config_file.write_text(config_file.read_text(encoding="utf-8").replace(
            'times = ["08:00", "19:00"]', 'times = ["06:15"]'), encoding="utf-8")
        (reloaded,) = await h.command(ADMIN, "/reload")
        assert "Configuration relue" in reloaded.plain and "3 sujets" in reloaded.plain
        await h.fake.wait_for(lambda: h.app.bot_data["services"].config.digest.times == ("06:15",),
                              what="new config applied")
        (welcome,) = await h.command(44, "/start")
        assert "06:15" in welcome.plain
        broken = config_file.read_text(encoding="utf-8") + "\n[digest.oops]\n"
        config_file.write_text(broken, encoding="utf-8")
        (refused,) = await h.command(ADMIN, "/reload")
        assert "Configuration non relue" in refused.plain and "digest.oops" in refused.plain
        assert h.app.bot_data["services"].config.digest.times == ("06:15",)     # last good config kept


async def test_chat_not_allowed_gets_a_polite_refusal(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api, telegram="allow = [42]") as h:
        (no,) = await h.command(43, "/start")
        assert "n'est pas autorisé" in no.plain and h.chat(43) is None
        (no_search,) = await h.command(43, "/search x", language_code="en")
        assert "not allowed" in no_search.plain
        (yes,) = await h.command(42, "/start")
        assert "Bienvenue" in yes.text
        (admin,) = await h.command(ADMIN, "/start")
        assert "Bienvenue" in admin.text


async def test_unknown_long_and_plain_messages(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                               caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        (unknown,) = await h.command(42, "/frobnicate now")
        assert "Je ne connais pas la commande /frobnicate" in unknown.plain
        (long_known,) = await h.command(42, "/search " + "mot " * 400)
        assert "trop long" in long_known.plain
        (long_unknown,) = await h.command(42, "/" + "x" * 3000, language_code="en")
        assert "too long" in long_unknown.plain
        h.fake.push_message(42, "bonjour")
        (text,) = (await h.fake.wait_sent(4, chat_id=42))[-1:]
        assert "/help" in text.plain
        (markup,) = await h.command(42, "/<b>")
        assert "&lt;b&gt;" in markup.text
    no_handler_errors(caplog)


async def test_command_menus_failing_does_not_stop_the_bot(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    fake_bot_api.fail_next("setMyCommands", 500, n=20)
    caplog.set_level(logging.WARNING, logger="bot")
    async with running_bot(tmp_path, fake_bot_api) as h:
        (helped,) = await h.command(42, "/help")
        assert "/digest" in helped.plain
    assert fake_bot_api.commands == {}
    assert any("could not register the command menu" in r.getMessage() for r in caplog.records)


async def test_errors_are_logged_and_answered_politely(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    group = -777
    async with running_bot(tmp_path, fake_bot_api) as h:
        fake_bot_api.fail_next("getChatMember", 500)           # the group-admin check breaks
        (sorry,) = await h.command(group, "/time 09:00", chat_type="supergroup", user_id=5)
        assert "quelque chose s'est mal passé" in sorry.plain
    assert any("error while handling" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in sorry.text


async def test_bot_removed_from_chat_marks_it_blocked(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        fake_bot_api.push_update({"my_chat_member": {
            "chat": {"id": 42, "type": "private", "first_name": "U"},
            "from": {"id": 42, "is_bot": False, "first_name": "U"}, "date": 1_700_000_000,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "b"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 1, "is_bot": True, "first_name": "b"}},
        }})
        # the handler records the state, then removes the jobs: wait for both, not just the first
        await fake_bot_api.wait_for(lambda: h.chat(42)["state"] == "blocked" and not digest_jobs(h, 42),
                                    what="blocked and unscheduled")


async def test_settings_show_the_chat_state(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        (none,) = await h.command(42, "/settings")
        assert "/start" in none.plain
        await h.command(42, "/start")
        await h.command(42, "/follow north-korea middle-east")
        await h.command(42, "/timezone Europe/London")
        (shown,) = await h.command(42, "/settings")
        assert "État : actif" in shown.plain
        assert "Sujets suivis : Corée du Nord et Proche-Orient" in shown.plain
        assert "08:00 et 19:00" in shown.plain and "Europe/London" in shown.plain and "jamais" in shown.plain
        h.world.story("Gaza", tags=("middle-east",))
        await h.command(42, "/digest")
        (after,) = await h.command(42, "/settings", language_code="en")
        assert "Last digest: " in after.plain and "never" not in after.plain
        assert "Language: English" in after.plain and h.chat(42)["language"] == "en"


async def test_quick_taps_leave_store_and_keyboard_in_step(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        (menu,) = await h.command(42, "/tags")
        ids = [fake_bot_api.push_callback(42, data, menu.message_id)
               for data in ("tag:ukraine", "tag:middle-east", "tag:ukraine", "tag:north-korea")]
        await fake_bot_api.wait_for(lambda: len(fake_bot_api.callback_answers) == len(ids), what="answers")
        await fake_bot_api.wait_for(lambda: len(fake_bot_api.edits) == len(ids), what="edits")
        assert h.db(chat_store.chat_tags, 42) == {"middle-east", "north-korea"}
        keyboard = fake_bot_api.message(42, menu.message_id)["reply_markup"]["inline_keyboard"]
        assert [b["text"] for row in keyboard for b in row] == [
            "Tout", "✓ Corée du Nord", "✓ Proche-Orient", "Ukraine"]


async def test_a_chat_that_blocked_the_bot_is_marked_when_answering(tmp_path: Path,
                                                                   fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        fake_bot_api.block(42)
        await h.quiet(42, "/help")
        # the handler records the state, then removes the jobs: wait for both, not just the first
        await fake_bot_api.wait_for(lambda: h.chat(42)["state"] == "blocked" and not digest_jobs(h, 42),
                                    what="blocked and unscheduled")
        fake_bot_api.unblock(42)
        (back,) = await h.command(42, "/start")                 # unblocked and came back
        assert "Content de vous revoir" in back.text and h.chat(42)["state"] == "active"


async def test_command_answers_survive_telegram_5xx(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Telegram answers 502 then 503 to the reply: it is sent again and arrives once. Three
    failures in a row end in one warning line, not a traceback."""
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        fake_bot_api.fail_next("sendMessage", 502)
        fake_bot_api.fail_next("sendMessage", 503)
        (answer,) = await h.command(42, "/help")
        assert "/digest" in answer.text
        no_handler_errors(caplog)
        fake_bot_api.fail_next("sendMessage", 500, n=3)     # three tries, given up ...
        caplog.clear()
        with caplog.at_level(logging.INFO):
            (sorry,) = await h.command(42, "/help", timeout=6.0)  # ... then told something failed
        assert "quelque chose s'est mal passé" in sorry.plain
        failed = [r for r in caplog.records if "Telegram or the network failed" in r.getMessage()]
        assert len(failed) == 1 and failed[0].levelno == logging.WARNING and failed[0].exc_info is None
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        (after,) = await h.command(42, "/help")             # and the bot answers normally after
        assert "/digest" in after.text
        # A 429 burst longer than the rate limiter's own retries (3 tries): the answer waits too.
        fake_bot_api.fail_next("sendMessage", 429, n=3, retry_after=1)
        caplog.clear()
        (waited,) = await h.command(42, "/help", timeout=10.0)
        assert "/digest" in waited.text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _disk_full_error() -> sqlite3.Error:
    """A real SQLITE_FULL from SQLite (a database capped at a few pages)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA max_page_count = 3")
    conn.execute("CREATE TABLE t (x)")
    try:
        while True:
            conn.execute("INSERT INTO t VALUES (randomblob(1000))")
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()


async def test_stats_says_when_the_disk_is_full(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api, poll_feeds=True) as h:
        feeds = h.app.bot_data["services"].feed_scheduler
        (fine,) = await h.command(ADMIN, "/stats", language_code="en")
        assert "Storage" not in fine.plain
        feeds.health.failed(_disk_full_error())
        assert feeds.health.last_error_kind == "disk-full"
        (stats,) = await h.command(ADMIN, "/stats", language_code="en")
        assert "⚠️ Storage: disk full: cannot write to the database" in stats.plain
        feeds.health.ok()
        (again,) = await h.command(ADMIN, "/stats", language_code="en")
        assert "Storage" not in again.plain
