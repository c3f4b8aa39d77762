"""[telegram] token_file: the token read from a file (Docker secrets, systemd credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config, read_token
from bot.errors import ConfigError, NewsbotError
from tests.bot_harness import TOKEN


def _config(tmp_path: Path, telegram: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[telegram]\n{telegram}\n", encoding="utf-8")
    return load_config(path)


def test_token_file_relative_to_the_config_and_with_variables(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text(f"  {TOKEN}\n", encoding="utf-8")
    config = _config(tmp_path, 'token_file = "token"')
    assert read_token(config.telegram, tmp_path) == TOKEN
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram-token").write_text(TOKEN, encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config = _config(tmp_path, 'token_file = "${CREDENTIALS_DIRECTORY}/telegram-token"')
    assert read_token(config.telegram, Path("/nowhere")) == TOKEN


@pytest.mark.parametrize(("content", "why"), [(None, "cannot read the token from"), ("\n  \n", "is empty")])
def test_a_missing_or_empty_token_file_is_one_line(tmp_path: Path, content: str | None, why: str) -> None:
    if content is not None:
        (tmp_path / "token").write_text(content, encoding="utf-8")
    config = _config(tmp_path, 'token_file = "token"')
    with pytest.raises(NewsbotError, match=why) as info:
        read_token(config.telegram, tmp_path)
    assert "\n" not in str(info.value)


def test_unset_variable_and_both_sources_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = _config(tmp_path, 'token_file = "$CREDENTIALS_DIRECTORY/telegram-token"')
    with pytest.raises(NewsbotError, match="a variable in it is not set"):
        read_token(config.telegram, tmp_path)
    with pytest.raises(ConfigError, match="set token_env or token_file, not both"):
        _config(tmp_path, 'token_env = "X"\ntoken_file = "token"')


def test_token_env_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, 'token_env = "NEWSBOT_TOKEN_FILE_TEST"')
    monkeypatch.setenv("NEWSBOT_TOKEN_FILE_TEST", f" {TOKEN} ")
    assert read_token(config.telegram, tmp_path) == TOKEN
    monkeypatch.delenv("NEWSBOT_TOKEN_FILE_TEST")
    with pytest.raises(NewsbotError, match="set the environment variable NEWSBOT_TOKEN_FILE_TEST"):
        read_token(config.telegram, tmp_path)
