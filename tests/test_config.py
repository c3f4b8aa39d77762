"""Config loading: every problem reported with file, key path and (for TOML syntax) line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import config_path, load_config, parse_config, parse_duration
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_example_config_is_valid() -> None:
    config = load_config(REPO / "config.example.toml")
    assert config.feeds and config.tags
    names = [f.name for f in config.feeds]
    assert len(names) == len(set(names))


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[feeds]]\nname = "a"\nurl = "https://example.org/rss"\n')
    config = load_config(path)
    assert config.feeds[0].interval == config.polling.interval == 900
    assert config.storage.path == tmp_path / "data" / "newsbot.db"


def test_unknown_key_names_file_and_key_path(tmp_path: Path) -> None:
    found = problems(
        '[[feeds]]\nname = "a"\nurl = "https://a.example/rss"\n'
        '[[feeds]]\nname = "b"\nurl = "https://b.example/rss"\nintervall = "5m"\n',
        tmp_path,
    )
    assert len(found) == 1
    assert str(tmp_path / "config.toml") in found[0]
    assert "feeds[1].intervall: unknown key" in found[0]


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    found = problems("[pollling]\ninterval = \"5m\"\n", tmp_path)
    assert any("pollling: unknown key" in p for p in found)


def test_wrong_type_and_bad_duration_reported_together(tmp_path: Path) -> None:
    found = problems(
        '[polling]\nconcurrency = "many"\ninterval = "ten minutes"\n'
        '[[feeds]]\nname = "a"\nurl = "https://a.example/rss"\ninterval = "5 parsecs"\n',
        tmp_path,
    )
    joined = "\n".join(found)
    assert "polling.concurrency: must be an integer, got a string" in joined
    assert "polling.interval: 'ten minutes' is not a duration" in joined
    assert "feeds[0].interval: '5 parsecs' is not a duration" in joined


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    found = problems('[polling]\ninterval = "5m"\nconcurrency = = 3\n', tmp_path)
    assert len(found) == 1
    assert "TOML syntax error" in found[0] and "line 3" in found[0]


def test_missing_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "config file not found" in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "/etc/passwd", "ftp://example.org/feed", "javascript:alert(1)", "http://"],
)
def test_non_http_feed_urls_rejected(url: str, tmp_path: Path) -> None:
    found = problems(f'[[feeds]]\nname = "a"\nurl = "{url}"\n', tmp_path)
    assert any("feeds[0].url" in p for p in found)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("polling", "interval", '"0s"'), ("polling", "concurrency", "100000"),
     ("polling", "max_bytes", "0"), ("storage", "retention_days", "0")],
)
def test_absurd_values_refused(section: str, key: str, value: str, tmp_path: Path) -> None:
    found = problems(f"[{section}]\n{key} = {value}\n", tmp_path)
    assert any(f"{section}.{key}: must be between" in p for p in found)


def test_google_news_url_built(tmp_path: Path) -> None:
    config = parse_config(
        '[[feeds]]\nname = "gn"\ngoogle_news = { query = "Corée du Nord Russie", hl = "fr", gl = "FR" }\n'
        '[[feeds]]\nname = "world"\ngoogle_news = { topic = "world", hl = "en-GB", gl = "GB" }\n',
        tmp_path / "c.toml",
    )
    search, topic = config.feeds
    assert search.url == (
        "https://news.google.com/rss/search?q=Cor%C3%A9e+du+Nord+Russie&hl=fr&gl=FR&ceid=FR:fr"
    )
    assert topic.url == (
        "https://news.google.com/rss/headlines/section/topic/WORLD?hl=en-GB&gl=GB&ceid=GB:en"
    )


def test_google_news_needs_query_or_topic(tmp_path: Path) -> None:
    found = problems('[[feeds]]\nname = "gn"\ngoogle_news = { hl = "fr" }\n', tmp_path)
    assert any("feeds[0].google_news" in p and "exactly one of" in p for p in found)


def test_duplicate_feed_names(tmp_path: Path) -> None:
    found = problems(
        '[[feeds]]\nname = "a"\nurl = "https://a.example/1"\n'
        '[[feeds]]\nname = "a"\nurl = "https://a.example/2"\n',
        tmp_path,
    )
    assert any("duplicate feed name 'a'" in p for p in found)


def test_invalid_boilerplate_regex(tmp_path: Path) -> None:
    found = problems('[cleaning]\nextra_boilerplate = ["(unclosed"]\n', tmp_path)
    assert any("cleaning.extra_boilerplate[0]: is not a valid regular expression" in p for p in found)


def test_digest_and_telegram_validation(tmp_path: Path) -> None:
    found = problems(
        '[digest]\ntimes = ["25:00"]\ntimezone = "Mars/Olympus"\nempty = "maybe"\n'
        '[telegram]\nlanguage = "de"\nallow = "nobody"\n',
        tmp_path,
    )
    joined = "\n".join(found)
    for needle in ("digest.times", "digest.timezone", "digest.empty", "telegram.language", "telegram.allow"):
        assert needle in joined


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_CONFIG", "/etc/newsbot.toml")
    assert config_path("x.toml") == Path("x.toml")
    assert config_path(None) == Path("/etc/newsbot.toml")
    monkeypatch.delenv("NEWSBOT_CONFIG")
    assert config_path(None) == Path("config.toml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("2h", 7200), ("7d", 604800), (45, 45), ("1.5h", 5400)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "-5m", "5x", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("value", ["5555555555:AAE" + "x" * 32, " 123456:ABCDEFGHIJKLMNOPQRSTU ", "my token"])
def test_token_env_must_be_a_variable_name(value: str, tmp_path: Path) -> None:
    found = problems(f'[telegram]\ntoken_env = "{value}"\n', tmp_path)
    assert len(found) == 1 and "telegram.token_env" in found[0]
    if ":" in value:
        assert "looks like a bot token" in found[0] and value.strip() not in found[0]
        assert value.split(":")[1].strip() not in found[0]
    path = tmp_path / "ok.toml"
    path.write_text('[telegram]\ntoken_env = "MY_BOT_TOKEN_2"\n', encoding="utf-8")
    assert load_config(path).telegram.token_env == "MY_BOT_TOKEN_2"


def test_a_token_pasted_into_token_file_is_refused_unprinted(tmp_path: Path) -> None:
    token = "5555555555:AAE" + "x" * 32
    found = problems(f'[telegram]\ntoken_file = "{token}"\n', tmp_path)
    assert len(found) == 1 and "telegram.token_file: looks like a bot token" in found[0]
    assert token not in found[0] and "x" * 32 not in found[0]
