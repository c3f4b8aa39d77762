"""Re-tagging after a config change, explain and tag counts: real SQLite files, real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import FeedConfig, TagConfig, load_config
from bot.models import Article
from bot.pipeline.store import open_database
from bot.pipeline.store.articles import article_tags, save_articles
from bot.pipeline.store.feeds import sync_feeds
from bot.pipeline.tagging import Tagger, add_feed_tags
from bot.pipeline.tagging.retag import explain_article, retag_articles, tag_counts

NOW = 1_800_000_000.0
DAY = 86400.0

TAGS_V1 = (
    TagConfig("iran", {"en": "Iran"}, ("Iran", "Téhéran")),
    TagConfig("nato", {"en": "NATO"}, ("NATO", "OTAN")),
)
TAGS_V2 = (
    TagConfig("iran", {"en": "Iran"}, ("Iran", "Téhéran", "iranien*")),   # keyword added
    TagConfig("north-korea", {"en": "North Korea"}, ("Corée du Nord", "Pyongyang")),  # tag added
)                                                                          # nato removed
FEEDS = (
    FeedConfig(name="Le Monde", url="https://lemonde.example/rss", interval=900),
    FeedConfig(name="NK News", url="https://nk.example/rss", interval=900, tags=("north-korea",)),
)


def article(guid: str, title: str, summary: str = "", age: float = 0.0) -> Article:
    return Article(guid=guid, link=f"https://x.example/{guid}", canonical_url=f"https://x.example/{guid}",
                   title=title, source="X", published_at=NOW - age, fetched_at=NOW - age, summary=summary)


def store(db, feed_ids: dict[str, int], feed: str, articles: list[Article], tagger: Tagger) -> list[int]:
    """What the pipeline does: tag, add the feed's own tags, save."""
    own = next(f.tags for f in FEEDS if f.name == feed)
    for a in articles:
        a.tags = add_feed_tags(tagger.tag(a.title, a.summary), feed, own)
    with db.atomic():
        new_ids, _, _ = save_articles(db, feed_ids[feed], articles, NOW)
    return new_ids


@pytest.fixture
def stored(tmp_path: Path):
    db = open_database(tmp_path / "news.db")
    feed_ids = sync_feeds(db, FEEDS, NOW - 60 * DAY)
    v1 = Tagger.from_config(TAGS_V1)
    ids = store(db, feed_ids, "Le Monde", [
        article("recent-1", "L’OTAN et l’Iran", "Les diplomates iraniens à Bruxelles", age=DAY / 2),
        article("recent-2", "Pyongyang tire un missile", "La Corée du Nord défie Séoul", age=2 * DAY),
        article("old", "L’OTAN et l’Iran", "Les diplomates iraniens", age=40 * DAY),
    ], v1)
    ids += store(db, feed_ids, "NK News", [article("nk-1", "Kim inspects a factory", age=3 * DAY)], v1)
    return db, dict(zip(["recent-1", "recent-2", "old", "nk-1"], ids, strict=True))


def test_stored_with_the_first_config(stored) -> None:
    db, ids = stored
    assert article_tags(db, ids["recent-1"]) == {"iran": "Iran", "nato": "OTAN"}
    assert article_tags(db, ids["recent-2"]) == {}
    assert article_tags(db, ids["nk-1"]) == {"north-korea": "feed:NK News"}


def test_retag_after_config_change(stored) -> None:
    db, ids = stored
    v2 = Tagger.from_config(TAGS_V2)
    feed_tags = {f.name: f.tags for f in FEEDS}
    changed = retag_articles(db, v2, NOW - 30 * DAY, NOW, feed_tags)
    assert changed == 2                                            # recent-1, recent-2; nk-1 unchanged
    assert article_tags(db, ids["recent-1"]) == {"iran": "Iran"}   # nato gone
    assert article_tags(db, ids["recent-2"]) == {"north-korea": "Pyongyang"}
    assert article_tags(db, ids["nk-1"]) == {"north-korea": "feed:NK News"}
    assert article_tags(db, ids["old"]) == {"iran": "Iran", "nato": "OTAN"}   # outside the window
    assert retag_articles(db, v2, NOW - 30 * DAY, NOW, feed_tags) == 0        # idempotent


def test_retag_survives_reopening_the_file(stored, tmp_path: Path) -> None:
    db, ids = stored
    retag_articles(db, Tagger.from_config(TAGS_V2), NOW - 7 * DAY, NOW, {})
    db.conn.close()
    again = open_database(tmp_path / "news.db")
    assert article_tags(again, ids["recent-2"]) == {"north-korea": "Pyongyang"}
    assert article_tags(again, ids["nk-1"]) == {}                 # no feed tags given this time


def test_retag_rejects_a_duration_for_since(stored) -> None:
    db, _ = stored
    with pytest.raises(ValueError, match="epoch"):
        retag_articles(db, Tagger.from_config(TAGS_V2), NOW + 1, NOW)


def test_retag_in_batches(tmp_path: Path, monkeypatch) -> None:
    import bot.pipeline.tagging.retag

    monkeypatch.setattr(bot.pipeline.tagging.retag, "BATCH", 3)
    db = open_database(tmp_path / "news.db")
    feed_ids = sync_feeds(db, FEEDS, NOW)
    untagged = Tagger.from_config(())
    store(db, feed_ids, "Le Monde", [article(f"a{i}", f"Iran {i}") for i in range(10)], untagged)
    assert retag_articles(db, Tagger.from_config(TAGS_V1), NOW - DAY, NOW) == 10
    assert db.execute("SELECT COUNT(*) FROM article_tags WHERE tag = 'iran'").fetchone()[0] == 10


def test_explain(stored) -> None:
    db, ids = stored
    plain = explain_article(db, ids["recent-1"])
    assert plain is not None
    assert (plain.stored, plain.current, plain.stale) == ({"iran": "Iran", "nato": "OTAN"}, None, False)
    now = explain_article(db, ids["recent-1"], Tagger.from_config(TAGS_V2))
    assert now is not None and now.stale
    assert now.current == {"iran": "Iran"}
    assert ("iran", "iraniens") in now.matches
    assert explain_article(db, 999_999) is None


def test_tag_counts(stored) -> None:
    db, _ = stored
    counts = tag_counts(db, NOW)
    assert counts["iran"] == (1, 1)            # recent-1 (12 h old) counts in both windows
    assert counts["north-korea"] == (0, 1)     # nk-1, 3 days old
    assert counts["nato"] == (1, 1)            # the 40-day-old article is in neither
    assert tag_counts(db, NOW + 30 * DAY) == {}


def test_tag_counts_by_fetch_time_like_export(tmp_path: Path) -> None:
    """A first poll stores a feed's back catalogue: fetched now, published days ago. `tags` counts
    them now, as `export --since` and `clusters --since` list them."""
    db = open_database(tmp_path / "news.db")
    feed_ids = sync_feeds(db, FEEDS, NOW - DAY)
    old_news = article("back-1", "L’OTAN et l’Iran", age=10 * DAY)
    old_news.fetched_at = NOW - 60
    store(db, feed_ids, "Le Monde", [old_news], Tagger.from_config(TAGS_V1))
    assert tag_counts(db, NOW) == {"iran": (1, 1), "nato": (1, 1)}


# -- the CLI -------------------------------------------------------------------------------------

def write_config(tmp_path: Path, tags: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "news.db"}"\n'
        '[[feeds]]\nname = "Le Monde"\nurl = "https://lemonde.example/rss"\n'
        '[[feeds]]\nname = "NK News"\nurl = "https://nk.example/rss"\ntags = ["north-korea"]\n' + tags,
        encoding="utf-8",
    )
    return path


V2_TOML = (
    '[tags.iran]\nlabel = { fr = "Iran", en = "Iran" }\nkeywords = ["Iran", "Téhéran", "iranien*"]\n'
    '[tags.north-korea]\nlabel = { fr = "Corée du Nord", en = "North Korea" }\n'
    'keywords = ["Corée du Nord", "Pyongyang"]\npriority = true\n'
)


def test_cli_retag_explain_tags(stored, tmp_path: Path, capsys) -> None:
    db, ids = stored
    config = write_config(tmp_path, V2_TOML)
    # The fixture's articles are dated around NOW (2027); shift them to the real present.
    import time

    shift = time.time() - NOW
    db.execute("UPDATE articles SET published_at = published_at + ?, fetched_at = fetched_at + ?",
               (shift, shift))

    assert main(["--config", str(config), "explain", str(ids["recent-1"])]) == 0
    out = capsys.readouterr().out
    assert "nato" in out and "OTAN" in out and "newsbot retag" in out
    assert main(["--config", str(config), "tags"]) == 0          # nato: stored, no longer configured
    assert any(line.startswith("nato") and line.endswith("not configured")
               for line in capsys.readouterr().out.splitlines())

    assert main(["--config", str(config), "retag", "--since", "30d"]) == 0
    assert "2 changed" in capsys.readouterr().out
    assert article_tags(db, ids["recent-2"]) == {"north-korea": "Pyongyang"}

    assert main(["--config", str(config), "explain", str(ids["recent-2"])]) == 0
    out = capsys.readouterr().out
    assert "north-korea" in out and "Pyongyang" in out and "same tags" in out

    assert main(["--config", str(config), "tags"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TAG", "LABEL", "KEYWORDS", "24H", "7D"]
    row = next(line.split() for line in lines if line.startswith("north-korea"))
    assert row[-3:] == ["0", "2", "priority"]       # recent-2 (2 days old) and nk-1 (3 days)
    assert not any(line.startswith("nato") for line in lines)   # re-tagged away


def test_cli_errors(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, V2_TOML)
    assert main(["--config", str(config), "explain", "12345"]) == 1
    assert "no article with id 12345" in capsys.readouterr().err
    assert main(["--config", str(config), "retag", "--since", "soon"]) == 1
    err = capsys.readouterr().err
    assert "--since" in err and "Traceback" not in err


def test_shipped_config_drives_the_cli(tmp_path: Path, capsys) -> None:
    shipped = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text(encoding="utf-8")
    tags_part = shipped[shipped.index("# ===== TAGS"):]
    config = write_config(tmp_path, tags_part)
    assert len(load_config(config).tags) >= 40
    assert main(["--config", str(config), "tags"]) == 0
    assert "north-korea" in capsys.readouterr().out
