"""`newsbot run` and the token: never in a log record, never in an error message."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_config
from bot.pipeline.telegram.app import run_bot
from bot.pipeline.telegram.logs import REDACTED, RedactingFilter, add_secret, install_redaction, redact
from tests.bot_harness import TOKEN, make_config, running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api

__all__ = ["fake_bot_api"]
ROOT = Path(__file__).resolve().parent.parent
SECRET_PART = TOKEN.split(":", 1)[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_TEST_TOKEN"}
    env.update(extra)
    return env


def assert_no_token(text: str) -> None:
    assert TOKEN not in text and SECRET_PART not in text


def test_redaction_covers_messages_arguments_and_tracebacks() -> None:
    add_secret(TOKEN)
    assert redact(f"POST https://api.telegram.org/bot{TOKEN}/getMe") == \
        f"POST https://api.telegram.org/bot{REDACTED}/getMe"
    assert SECRET_PART not in redact(f"secret={SECRET_PART}")
    assert TOKEN not in redact(f"url-encoded {TOKEN.replace(':', '%3A')}")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s in %r", (TOKEN, {"t": TOKEN}), None)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    formatted = logging.Formatter("%(message)s").format(record)
    assert "Traceback" in formatted and "rejected by the server" in formatted
    assert_no_token(formatted)
    clean = logging.LogRecord("x", logging.ERROR, __file__, 1, "no secret %s", ("here",), None)
    try:
        raise ValueError("nothing to hide")
    except ValueError:
        clean.exc_info = sys.exc_info()
    RedactingFilter().filter(clean)
    assert clean.exc_info is not None and clean.args == ("here",)     # untouched without a secret


async def test_token_never_reaches_any_log_record(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(tmp_path, fake_bot_api, poll_feeds=True) as h:
        # Even when someone turns the per-request loggers back up to DEBUG.
        for name in ("httpx", "httpcore", "telegram", "apscheduler"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        h.world.story("Pyongyang", tags=("north-korea",))
        await h.command(42, "/start")
        await h.command(42, "/digest")
        fake_bot_api.fail_next("sendMessage", 502)               # logged retries and errors
        await h.command(42, "/help")
        fake_bot_api.fail_next("getChatMember", 401)             # InvalidToken puts the token in its text
        await h.command(-9, "/time 09:00", chat_type="group", user_id=3)
    for name in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    install_redaction(TOKEN)                                     # restore the WARNING floor for others
    records = caplog.records
    assert any("httpx" in r.name for r in records)              # the request lines were logged...
    assert any(REDACTED in r.getMessage() for r in records)     # ...with the token redacted
    for record in records:
        assert_no_token(record.getMessage())
        assert_no_token(record.exc_text or "")
        assert_no_token(str(record.exc_info or ""))
    assert_no_token(caplog.text)
    assert TOKEN in fake_bot_api.tokens_seen                     # the token was really used


def test_run_without_token_exits_1_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "x.db"\n[telegram]\ntoken_env = "NEWSBOT_TEST_TOKEN"\n',
                      encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"], cwd=ROOT, env=_env(),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEWSBOT_TEST_TOKEN" in lines[0], result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()                      # stopped before touching anything


def test_rejected_token_is_one_line_without_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBotAPI(token="1:the-right-token-xyz") as fake:
        config = make_config(tmp_path, fake)
        monkeypatch.setenv("NEWSBOT_TEST_TOKEN", TOKEN)
        try:
            assert run_bot(config) == 1
        finally:
            logging.getLogger("bot").setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert "refused the bot token in NEWSBOT_TEST_TOKEN" in err and len(err.strip().splitlines()) == 1
    assert_no_token(err)


def test_run_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    with FakeBotAPI(token=TOKEN) as fake:
        make_config(tmp_path, fake)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(tmp_path / "config.toml"), "run"], cwd=ROOT,
            env=_env(NEWSBOT_TEST_TOKEN=TOKEN), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            fake.wait_for_sync(lambda: len(fake.calls_of("getUpdates")) >= 1, timeout=20, what="polling")
            fake.push_command(42, "/start")
            fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 1, timeout=10, what="welcome")
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
            stopped_in = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert stopped_in < 5
    assert "Bienvenue" in fake.sent_to(42)[0].text
    assert "Traceback" not in err
    assert_no_token(err)
    assert load_config(tmp_path / "config.toml").storage.path.exists()


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_token_pasted_into_token_env_is_refused_and_never_printed(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "x.db"\n[telegram]\ntoken_env = "{TOKEN}"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), command], cwd=ROOT,
        env=_env(**{"NEWSBOT_TEST_TOKEN": TOKEN}), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "telegram.token_env" in lines[0] and "looks like a bot token" in lines[0]
    assert_no_token(result.stdout + result.stderr)
    assert not (tmp_path / "x.db").exists()
