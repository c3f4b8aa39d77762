"""What a chat follows and mutes (bot/pipeline/telegram/topics.py, pure): transitions, names, summaries."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.pipeline.telegram.topics import Choice, resolve_words, suggest, summary

TAGS = load_config(Path(__file__).resolve().parents[1] / "config.example.toml").tags
EVERYTHING = Choice()


def test_transitions_between_everything_and_a_list() -> None:
    only = EVERYTHING.follow({"russia"})
    assert only == Choice(frozenset({"russia"})) and not only.everything
    assert only.follow({"ukraine"}).follows == {"russia", "ukraine"}
    assert only.unfollow({"russia"}) == EVERYTHING                          # the last one: everything
    assert EVERYTHING.toggle("usa") == Choice(frozenset({"usa"}))
    assert EVERYTHING.toggle("usa").toggle("usa") == EVERYTHING
    muted = only.mute({"usa"})
    assert muted == Choice(frozenset({"russia"}), frozenset({"usa"}))
    assert muted.follow({"usa"}) == Choice(frozenset({"russia", "usa"}))   # following unmutes
    assert muted.mute({"russia"}) == Choice(frozenset(), frozenset({"russia", "usa"}))
    assert muted.unmute({"usa"}) == only


def test_names_and_suggestions_fold_case_and_accents() -> None:
    assert resolve_words(TAGS, ["Corée", "du", "Nord"]) == ["north-korea"]
    assert resolve_words(TAGS, ["ETATS-UNIS"]) == ["usa"]
    assert resolve_words(TAGS, ["russie", "ukraine"]) == ["russia", "ukraine"]
    assert suggest(TAGS, "nort-korea")[0] == "north-korea"
    assert suggest(TAGS, "coree du nor")[0] == "north-korea"
    assert 1 <= len(suggest(TAGS, "korea")) <= 3
    assert suggest(TAGS, "zzzzqqqq") == []
    word, close = resolve_words(TAGS, ["nosuchtag"])
    assert word == "nosuchtag" and len(close) <= 3


def test_summaries_never_list_every_label() -> None:
    ids = frozenset(tag.id for tag in TAGS)
    assert summary(TAGS, EVERYTHING, "fr") == "Sujets : tous"
    assert summary(TAGS, Choice(mutes=frozenset({"russia"})), "fr") == "Tous les sujets sauf : Russie"
    both = Choice(frozenset({"russia", "ukraine"}))
    assert summary(TAGS, both, "fr") == "Sujets suivis : Russie et Ukraine"
    assert summary(TAGS, Choice(frozenset({"russia"}), frozenset({"usa"})), "en") == (
        "Followed topics: Russia\nMuted topics: United States")
    long = summary(TAGS, Choice(ids - {"russia"}), "fr")
    assert len(long) < 200 and f"et {len(ids) - 1 - 6} autres (/tags)" in long
