"""`newsbot digest --chat ID --dry-run` and `newsbot subscribers`, in-process with a real database."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.pipeline.store import DbExecutor
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import deliveries as journal
from tests.helpers import write_config
from tests.test_delivery import World


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, DbExecutor, World]:
    config = write_config(tmp_path, {})
    executor = DbExecutor(tmp_path / "news.db")
    world = World(executor)
    yield config, executor, world
    executor.close()


def test_digest_dry_run_prints_text_and_records_nothing(setup, capsys) -> None:
    config, executor, world = setup
    world.subscribe(42, tags=("ukraine",))
    world.story("Kyiv & <talks>", sources=("Le Monde", "Reuters"), tags=("ukraine",), at=time.time() - 60,
                link="https://example.com/kyiv")
    code = main(["--config", str(config), "digest", "--chat", "42", "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "1. Kyiv & <talks>\n   https://example.com/kyiv\nLe Monde, Reuters" in out and "#ukraine" in out
    assert "<a " not in out and "&amp;" not in out
    assert executor.call_sync(journal.chat_runs, 42) == []


def test_digest_errors_are_one_line(setup, capsys) -> None:
    config, _, _ = setup
    assert main(["--config", str(config), "digest", "--chat", "99", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "not a subscriber" in err
    assert main(["--config", str(config), "digest", "--chat", "99"]) == 1
    assert "--dry-run" in capsys.readouterr().err


def test_subscribers_lists_states_tags_and_times(setup, capsys) -> None:
    config, executor, world = setup
    assert main(["--config", str(config), "subscribers"]) == 0
    assert "no subscribers yet" in capsys.readouterr().out
    world.subscribe(42, tags=("ukraine", "north-korea"))
    world.subscribe(-100, chat_type="group")
    executor.call_sync(chat_store.set_state, -100, "blocked", "bot was kicked")
    assert main(["--config", str(config), "subscribers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["chat", "type", "state"]
    row42 = next(line for line in lines if line.startswith("42 "))
    assert "active" in row42 and "north-korea ukraine" in row42 and "08:00" in row42 and "never" in row42
    assert any(line.startswith("-100 ") and "blocked (bot was kicked)" in line for line in lines)
    executor.call_sync(functools.partial(chat_store.set_tag_choice, follows=(), mutes=("usa",)), -100)
    assert main(["--config", str(config), "subscribers"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("-100 "))
    assert "(all) muted: usa" in row
