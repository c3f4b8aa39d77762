"""The fake Bot API server, checked against the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fakebotapi import BOT_USERNAME, FakeBotAPI, TelegramBadRequest, fake_bot_api, parse_html

__all__ = ["fake_bot_api"]

TOKEN = "123456:TEST-token-for-the-fake"


def make_bot(fake: FakeBotAPI) -> Bot:
    return Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=4))


# -- HTML validation (pure) ---------------------------------------------------------------------


def test_parse_html_entities_and_utf16_offsets() -> None:
    plain, entities = parse_html('😀 <b>gras</b> &amp; <a href="https://x.org/?a=1&amp;b=2">lien</a>')
    assert plain == "😀 gras & lien"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "url": "https://x.org/?a=1&b=2", "offset": 10, "length": 4},
    ]


@pytest.mark.parametrize("bad", [
    "<script>alert(1)</script>", "<b>open", "close</b>", "<b><i>x</b></i>", "AT&T", "a > b",
    "<a>no href</a>", '<span class="x">y</span>', "<a href='u'><a href='v'>x</a></a>",
    "<code><b>x</b></code>", "<b", "x < y",
])
def test_parse_html_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(TelegramBadRequest):
        parse_html(bad)


def test_parse_html_accepts_allowed_tags() -> None:
    text = ('<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>'
            '<del>d</del><span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><code>c</code>'
            '<pre><code class="language-python">x</code></pre><blockquote expandable>bq</blockquote>'
            '&lt;&gt;&quot;&#39;&#x41;')
    plain, entities = parse_html(text)
    assert plain.endswith("<>\"'A")
    assert {e["type"] for e in entities} >= {"bold", "italic", "underline", "strikethrough", "spoiler",
                                             "code", "pre", "expandable_blockquote"}


# -- protocol through the real client ------------------------------------------------------------


async def test_get_me_send_and_html_errors(fake_bot_api: FakeBotAPI) -> None:
    async with make_bot(fake_bot_api) as bot:
        assert bot.username == BOT_USERNAME
        msg = await bot.send_message(42, "<b>Bonjour</b> &amp; co", parse_mode=ParseMode.HTML,
                                     link_preview_options=LinkPreviewOptions(is_disabled=True))
        assert msg.text == "Bonjour & co" and msg.chat.id == 42 and msg.message_id == 1
        assert msg.date.timestamp() == pytest.approx(time.time(), abs=5)
        chat_id, text, parse_mode, no_preview = fake_bot_api.sent[0]
        assert (chat_id, text, parse_mode, no_preview) == (42, "<b>Bonjour</b> &amp; co", "HTML", True)
        with pytest.raises(BadRequest, match="(?i)unsupported start tag"):
            await bot.send_message(42, "<script>x</script>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)too long"):
            await bot.send_message(42, "é" * 4097)
        ok = "😀" * 2048                                # 4096 UTF-16 units exactly
        await bot.send_message(42, ok)
        with pytest.raises(BadRequest, match="(?i)too long"):
            await bot.send_message(42, ok + "x")
        many = "".join(f"<b>{i}</b> " for i in range(101))
        with pytest.raises(BadRequest, match="entities"):
            await bot.send_message(42, many, parse_mode=ParseMode.HTML)
        assert len(fake_bot_api.sent) == 2


async def test_faults_map_to_ptb_exceptions(fake_bot_api: FakeBotAPI) -> None:
    fake = fake_bot_api
    async with make_bot(fake) as bot:
        fake.block(7)
        with pytest.raises(Forbidden):
            await bot.send_message(7, "hi")
        fake.fail_next("sendMessage", 429, retry_after=3)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(8, "hi")
        assert "Retry in 3 seconds" in str(info.value)
        fake.fail_next("sendMessage", 502)
        with pytest.raises(NetworkError):
            await bot.send_message(8, "hi")
        fake.migrate(-100, -1000000000100)
        with pytest.raises(ChatMigrated) as mig:
            await bot.send_message(-100, "hi")
        assert mig.value.new_chat_id == -1000000000100
        await bot.send_message(-1000000000100, "hi")
        fake.reset_connections(1)
        with pytest.raises(NetworkError):
            await bot.send_message(8, "reset")
        await bot.send_message(8, "after reset")
        assert [s.text for s in fake.sent] == ["hi", "after reset"]
        assert fake.too_many == 1


async def test_delay_and_rate_limit(fake_bot_api: FakeBotAPI) -> None:
    fake = fake_bot_api
    async with make_bot(fake) as bot:
        fake.delay("sendMessage", 0.2)
        start = time.monotonic()
        await bot.send_message(1, "slow")
        assert time.monotonic() - start >= 0.2
        fake.delay("sendMessage", 0)
        fake.rate_limit(per_second=5)
        results = await asyncio.gather(*(bot.send_message(1000 + i, "x") for i in range(8)),
                                       return_exceptions=True)
        assert sum(isinstance(r, RetryAfter) for r in results) == 3
        fake.rate_limit(None, per_chat=1)
        await bot.send_message(5, "one")
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "two")


async def test_edit_keyboard_callbacks_and_commands(fake_bot_api: FakeBotAPI) -> None:
    fake = fake_bot_api
    async with make_bot(fake) as bot:
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="t:a")]])
        msg = await bot.send_message(3, "pick", reply_markup=kb)
        assert fake.sent[0].buttons()[0][0]["callback_data"] == "t:a"
        with pytest.raises(BadRequest, match="(?i)not modified"):
            await bot.edit_message_reply_markup(3, msg.message_id, reply_markup=kb)
        kb2 = InlineKeyboardMarkup([[InlineKeyboardButton("✓ A", callback_data="t:a")]])
        await bot.edit_message_reply_markup(3, msg.message_id, reply_markup=kb2)
        assert fake.message(3, msg.message_id)["reply_markup"]["inline_keyboard"][0][0]["text"] == "✓ A"
        await bot.edit_message_text("picked", 3, msg.message_id)
        with pytest.raises(BadRequest, match="(?i)not found"):
            await bot.edit_message_text("x", 3, 999)
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(3, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("B", callback_data="x" * 65)]]))
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("nope")
        await bot.set_my_commands([("start", "Démarrer")], language_code="fr")
        assert fake.commands[("default", "fr")] == [{"command": "start", "description": "Démarrer"}]
        with pytest.raises(BadRequest):
            await bot.set_my_commands([("Bad-Name", "x")])
        fake.set_admins(-5, {11}, owner=10)
        assert (await bot.get_chat_member(-5, 10)).status == "creator"
        assert (await bot.get_chat_member(-5, 11)).status == "administrator"
        assert (await bot.get_chat_member(-5, 12)).status == "member"
        assert len(await bot.get_chat_administrators(-5)) == 2


async def test_application_long_polls_commands_and_callbacks(fake_bot_api: FakeBotAPI) -> None:
    fake = fake_bot_api
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(f"{update.effective_user.language_code}:{' '.join(context.args)}")
        await update.effective_message.reply_text("welcome")

    app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1, poll_interval=0)
        fake.push_command(42, "/start a b", language_code="en")
        fake.push_command(-7, f"/start@{BOT_USERNAME} g", chat_type="group")
        await fake.wait_sent(2)
        started = time.monotonic()
        fake.push_command(42, "/start again", language_code="en")   # wakes the pending long poll
        await fake.wait_sent(3)
        assert time.monotonic() - started < 0.5
        await app.updater.stop()
        await app.stop()
    assert seen == ["en:a b", "fr:g", "en:again"]
    assert fake.pending_updates == 0                       # offsets confirmed on stop
    assert {p.get("timeout") for p in fake.calls_of("getUpdates")} <= {0, 1}


async def test_wrong_token_is_unauthorized() -> None:
    with FakeBotAPI(token="1:right") as fake:
        bot = Bot("1:wrong", base_url=fake.base_url)
        with pytest.raises(InvalidToken):
            await bot.initialize()
