"""What a subscriber meets in the first minute (issue 12): following everything or a list, muting,
short summaries, suggestions, the chat's language, UTC offsets, the "More" button, publisher
links and priority alerts. Real PTB Application ↔ real HTTP ↔ fake Bot API, real SQLite."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.texts import COMMANDS, TEXTS
from tests.bot_harness import ADMIN, example_tags, running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api

__all__ = ["fake_bot_api"]


def button_texts(markup: dict | None) -> list[str]:
    return [b["text"] for row in (markup or {}).get("inline_keyboard", []) for b in row]


async def test_first_follow_means_only_that_tag(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        h.world.story("Kyiv sous les drones", tags=("ukraine",))
        h.world.story("Pyongyang tire un missile", tags=("north-korea",))
        h.world.story("Un sujet sans étiquette")
        await h.command(42, "/start")
        (only,) = await h.command(42, "/follow ukraine")          # was: "You already follow: Ukraine"
        assert "ne suivez plus que : Ukraine" in only.plain and "Sujets suivis : Ukraine" in only.plain
        assert h.db(chat_store.chat_tags, 42) == {"ukraine"}
        (menu,) = await h.command(42, "/tags")
        assert button_texts(menu.reply_markup) == ["Tout", "Corée du Nord", "Proche-Orient", "✓ Ukraine"]
        (digest,) = await h.command(42, "/digest")
        assert "Kyiv" in digest.plain and "Pyongyang" not in digest.plain and "étiquette" not in digest.plain
        (back,) = await h.command(42, "/unfollow ukraine")        # the last one: everything again
        assert "toutes les nouvelles" in back.plain and "Sujets : tous" in back.plain
        assert h.db(chat_store.chat_tags, 42) == set()
        h.world.story("Pyongyang : nouveau tir", tags=("north-korea",))
        h.world.story("Encore un sujet sans étiquette")
        (rest,) = await h.command(42, "/digest")
        assert "nouveau tir" in rest.plain and "Encore un sujet" in rest.plain
    for scope in (("default", "fr"), ("default", "en"), (f"chat:{ADMIN}", "")):
        assert {"mute", "unmute", "lang"} <= {c["command"] for c in fake_bot_api.commands[scope]}


async def test_a_muted_tag_is_never_sent(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        await h.command(42, "/follow ukraine")
        (muted,) = await h.command(42, "/mute middle-east")
        assert "Sujet coupé : Proche-Orient" in muted.plain
        assert "Sujets suivis : Ukraine\nSujets coupés : Proche-Orient" in muted.plain
        h.world.story("Kyiv et Gaza : sommet", tags=("ukraine", "middle-east"), age=0,
                      sources=("Le Monde", "Reuters", "AFP"))
        h.world.story("Kyiv reconstruit", tags=("ukraine",))
        (digest,) = await h.command(42, "/digest")
        assert "Kyiv reconstruit" in digest.plain and "sommet" not in digest.plain
        (settings,) = await h.command(42, "/settings")
        assert "Sujets coupés : Proche-Orient" in settings.plain
        (menu,) = await h.command(42, "/tags")
        assert "🔇 Proche-Orient" in button_texts(menu.reply_markup)
        await h.command(42, "/unfollow ukraine")
        (everything,) = await h.command(42, "/settings")
        assert "Tous les sujets sauf : Proche-Orient" in everything.plain
        (again,) = await h.command(42, "/mute proche orient")
        assert "déjà coupé" in again.plain
        # Priority alerts obey mutes too: a priority story carrying a muted tag is not sent.
        await h.command(43, "/start")
        await h.command(43, "/mute ukraine")
        h.world.story("Pyongyang et Kyiv", tags=("north-korea", "ukraine"), age=0,
                      sources=("Le Monde", "Reuters", "AFP"))
        sent = await delivery.send_priority_alerts(h.app.bot, h.executor, h.config)
        assert sent == 1 and not [m for m in fake_bot_api.sent_to(43) if "🚨" in m.plain]
        (unmuted,) = await h.command(43, "/unmute ukraine")
        assert "Sujet rétabli : Ukraine" in unmuted.plain and "Sujets : tous" in unmuted.plain


async def test_summaries_and_suggestions_stay_short(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api, tags=example_tags()) as h:
        all_ids = {tag.id for tag in h.config.tags}
        assert len(all_ids) > 60
        (welcome,) = await h.command(42, "/start")
        assert "Sujets : tous" in welcome.plain and "Russie" not in welcome.plain
        (typo,) = await h.command(42, "/follow nort-korea")
        assert "Vouliez-vous dire : north-korea" in typo.plain and len(typo.plain) < 200
        (unknown,) = await h.command(42, "/follow nosuchtag")
        assert "/tags" in unknown.plain and len(unknown.plain) < 200
        (accents,) = await h.command(42, "/follow etats unis")
        assert "ne suivez plus que : États-Unis" in accents.plain
        h.db(chat_store.set_chat_tags, 42, all_ids - {"russia"})   # an old "everything but Russia" list
        (settings,) = await h.command(42, "/settings")
        assert "Sujets suivis : " in settings.plain and "autres (/tags)" in settings.plain
        assert len(settings.plain) < 400, settings.plain
        (back,) = await h.command(42, "/start")
        assert len(back.plain) < 1500 and "autres (/tags)" in back.plain


async def test_lang_overrides_the_client_language(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(ADMIN, "/start", language_code="fr")
        (usage,) = await h.command(ADMIN, "/lang", language_code="fr")
        assert "/lang en" in usage.plain
        (ok,) = await h.command(ADMIN, "/lang en", language_code="fr")
        assert ok.plain.startswith("Language: English")
        assert h.chat(ADMIN)["language"] == "en" and h.chat(ADMIN)["language_chosen"] == 1
        (settings,) = await h.command(ADMIN, "/settings", language_code="fr")   # the client says fr
        assert "Language: English" in settings.plain and "Topics: all" in settings.plain
        (stats,) = await h.command(ADMIN, "/stats", language_code="fr")
        assert "Statistics" in stats.plain and "stories" in stats.plain
        h.app.bot_data["reload"] = lambda: "config reloaded: 2 feeds, 3 tags"
        (reloaded,) = await h.command(ADMIN, "/reload", language_code="fr")
        assert reloaded.plain == "🔄 Configuration reloaded: 2 feeds, 3 topics."
        h.world.story("Kyiv talks", tags=("ukraine",))
        (digest,) = await h.command(ADMIN, "/digest", language_code="fr")
        assert "News digest" in digest.plain and "1 story" in digest.plain
        await h.command(ADMIN, "/lang fr", language_code="en")
        (stats_fr,) = await h.command(ADMIN, "/stats", language_code="en")
        assert "Statistiques" in stats_fr.plain and "sujets" in stats_fr.plain
        assert "histoires" not in stats_fr.plain                   # one word for stories: "sujets"
        (reload_fr,) = await h.command(ADMIN, "/reload", language_code="en")
        assert reload_fr.plain == "🔄 Configuration relue : 2 flux, 3 sujets."


async def test_timezone_accepts_fixed_utc_offsets(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        (plus_two,) = await h.command(42, "/timezone UTC+2")       # was: "did you mean UTC?"
        assert "UTC+2" in plus_two.plain and "décalage fixe" in plus_two.plain
        assert h.chat(42)["timezone"] == "Etc/GMT-2"
        job = h.app.job_queue.scheduler.get_job("digest:42:08:00")
        assert job.trigger.timezone.utcoffset(None).total_seconds() == 7200
        await h.command(42, "/timezone -05:00")
        assert h.chat(42)["timezone"] == "Etc/GMT+5"
        (settings,) = await h.command(42, "/settings")
        assert "Fuseau : UTC-5" in settings.plain
        (half,) = await h.command(42, "/timezone +05:30")
        assert "d'heure en heure" in half.plain and "Asia/Kolkata" in half.plain
        assert h.chat(42)["timezone"] == "Etc/GMT+5"               # unchanged
        await h.command(42, "/timezone UTC")
        assert h.chat(42)["timezone"] == "UTC"


async def test_more_button_pages_through_the_cut_stories(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    """max_stories = 5: 12 stories → 5 + "Voir la suite (7)"; the tap sends 6–10 + "(2)", after a
    restart the next tap sends 11–12; /digest meanwhile offers what is unseen, never "nothing new"."""
    async with running_bot(tmp_path, fake_bot_api) as h:
        for i in range(12):
            h.world.story(f"Sujet {i:02d}", sources=tuple(f"S{j}" for j in range(20 - i)))
        await h.command(42, "/start")
        (first,) = await h.command(42, "/digest")
        assert "1. Sujet 00" in first.plain and "5. Sujet 04" in first.plain and "Sujet 05" not in first.plain
        assert "… et 7 autres sujets" in first.plain
        assert button_texts(first.reply_markup) == ["Voir la suite (7)"]
        data = first.reply_markup["inline_keyboard"][0][0]["callback_data"]
        before = len(fake_bot_api.sent_to(42))
        fake_bot_api.push_callback(42, data, first.message_id)
        (second,) = (await fake_bot_api.wait_sent(before + 1, chat_id=42))[before:]
        assert "(suite)" in second.plain and "6. Sujet 05" in second.plain and "10. Sujet 09" in second.plain
        assert button_texts(second.reply_markup) == ["Voir la suite (2)"]
        await fake_bot_api.wait_for(lambda: not (fake_bot_api.message(42, first.message_id) or {})
                                    .get("reply_markup"), what="used button removed")
        next_data = second.reply_markup["inline_keyboard"][0][0]["callback_data"]
    async with running_bot(tmp_path, fake_bot_api) as h:                   # a restart
        before = len(fake_bot_api.sent_to(42))
        fake_bot_api.push_callback(42, next_data, second.message_id)
        (third,) = (await fake_bot_api.wait_sent(before + 1, chat_id=42))[before:]
        assert "11. Sujet 10" in third.plain and "12. Sujet 11" in third.plain and not third.reply_markup
        answer = await h.tap(42, next_data, second.message_id)               # tapped twice
        assert answer is not None
        (none_left,) = (await fake_bot_api.wait_sent(before + 2, chat_id=42))[before + 1:]
        assert "Plus rien à voir" in none_left.plain
        await h.tap(42, "more:424242", second.message_id)                   # unknown page
        (gone,) = (await fake_bot_api.wait_sent(before + 3, chat_id=42))[before + 2:]
        assert "expiré" in gone.plain and "/digest" in gone.plain


async def test_next_digest_offers_the_cut_stories(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        for i in range(7):
            h.world.story(f"Sujet {i:02d}", sources=tuple(f"S{j}" for j in range(10 - i)))
        await h.command(42, "/start")
        (first,) = await h.command(42, "/digest")
        assert "… et 2 autres sujets" in first.plain
        (second,) = await h.command(42, "/digest")                 # was: "Rien de nouveau"
        assert "Sujet 05" in second.plain and "Sujet 06" in second.plain
        assert "Rien de nouveau" not in second.plain
        (third,) = await h.command(42, "/digest")
        assert third.plain == "Rien de nouveau depuis votre dernier résumé."


async def test_scheduled_digest_offers_cut_stories_again_when_they_grow(tmp_path: Path,
                                                                        fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        ids = [h.world.story(f"Sujet {i:02d}", sources=tuple(f"S{j}" for j in range(10 - i)))
               for i in range(7)]
        await h.command(42, "/start")
        first = await delivery.deliver_digest(h.app.bot, h.executor, h.config, 42)
        assert first.stories == 5
        h.world.grow(ids[6], "Nouvelle source")                     # a cut story keeps growing
        second = await delivery.deliver_digest(h.app.bot, h.executor, h.config, 42)
        assert second.stories == 1 and "Sujet 06" in fake_bot_api.sent_to(42)[-1].plain
        assert "Sujet 05" not in fake_bot_api.sent_to(42)[-1].plain  # still behind the first "More"


async def test_entries_link_the_publisher_not_google_news(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    google = "https://news.google.com/rss/articles/CBMiXWh0dHBzOi8vd3d3?oc=5"
    async with running_bot(tmp_path, fake_bot_api) as h:
        h.world.story("Pyongyang tire un missile", sources=("Reuters", "Le Monde"),
                      links=(google, "https://www.lemonde.fr/international/article/missile.html"))
        await h.command(42, "/start")
        (digest,) = await h.command(42, "/digest")
        link = next(e for e in digest.entities if e["type"] == "text_link")
        assert link["url"] == "https://www.lemonde.fr/international/article/missile.html"
        assert "Le Monde, Reuters" in digest.plain                # the linked article's source first
        (found,) = await h.command(42, "/search missile")
        link = next(e for e in found.entities if e["type"] == "text_link")
        assert link["url"].startswith("https://www.lemonde.fr/") and "Le Monde +1" in found.plain


async def test_no_alert_for_a_story_older_than_the_subscription(tmp_path: Path,
                                                                fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        for title in ("Pyongyang : essai", "Pyongyang : sanctions"):
            h.world.story(title, tags=("north-korea",), sources=("Le Monde", "Reuters", "AFP"), age=1800)
        await h.command(42, "/start")
        assert await delivery.send_priority_alerts(h.app.bot, h.executor, h.config) == 0
        time.sleep(0.01)
        h.world.story("Pyongyang : nouveau tir", tags=("north-korea",),
                      sources=("Le Monde", "Reuters", "AFP"), age=0)
        assert await delivery.send_priority_alerts(h.app.bot, h.executor, h.config) == 1
        alerts = [m.plain for m in fake_bot_api.sent_to(42) if "🚨" in m.plain]
        assert len(alerts) == 1 and "nouveau tir" in alerts[0]
        (digest,) = await h.command(42, "/digest")                 # the older ones are in the digest
        assert "essai" in digest.plain and "sanctions" in digest.plain and "nouveau tir" not in digest.plain


async def test_digest_order_follows_the_ranking_rule(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    """The rule /help states: by sources, most recent first among equals, stale (> 24 h) last."""
    async with running_bot(tmp_path, fake_bot_api) as h:
        hour = 3600
        for title, sources, age in [("Grande histoire du matin", 62, 5), ("Brève d'il y a une heure", 1, 1),
                                    ("Grande histoire d'hier", 80, 30), ("Trois sources", 3, 2),
                                    ("Trois sources, plus récent", 3, 0.3)]:
            h.world.story(title, sources=tuple(f"S{i}" for i in range(sources)), age=age * hour)
        # Yesterday's story was touched just now (a late copy with its old date): due, but stale.
        h.db(lambda db: db.execute("UPDATE clusters SET updated_at = ? WHERE title LIKE '%hier'",
                                   (time.time(),)))
        await h.command(42, "/start")
        (digest,) = await h.command(42, "/digest")
        order = re.findall(r"^\d+\. (.+)$", digest.plain, flags=re.MULTILINE)
        assert order == ["Grande histoire du matin", "Trois sources, plus récent", "Trois sources",
                         "Brève d'il y a une heure", "Grande histoire d'hier"]
        (helped,) = await h.command(42, "/help")
        assert "par nombre de sources" in helped.plain and "plus de 24 h" in helped.plain


def test_readme_help_and_config_agree() -> None:
    """Every command of the menus is in README's "In Telegram"; the ranking rule is worded the
    same in README, config.example.toml and /help (fr and en)."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## In Telegram"):readme.index("## Documentation")]
    example = " ".join((root / "config.example.toml").read_text(encoding="utf-8").replace("#", "").split())
    for name, *_ in COMMANDS:
        assert f"/{name}" in section, name
    rule = ("by number of sources, the most recent first among equals; a story with no new article for "
            "more than 24 h")
    assert rule in " ".join(section.split()) and rule in example and rule in TEXTS["en"]["help"]
    assert ("par nombre de sources, le plus récent d'abord à égalité ; un sujet sans nouvel article depuis "
            "plus de 24 h") in TEXTS["fr"]["help"]
    from bot.pipeline.digest import FRESH_HOURS  # here: the other tests must run on older code too

    assert FRESH_HOURS == 24.0
