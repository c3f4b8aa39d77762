"""Validation of [tags.<id>]: bad tags are ConfigErrors listing every problem, also via `newsbot check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config, parse_config
from bot.errors import ConfigError
from bot.pipeline.tagging import tag_problems

REPO = Path(__file__).resolve().parent.parent


def problems_of(toml: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(toml, Path("t.toml"))
    return info.value.problems


def test_shipped_taxonomy_is_valid_and_large() -> None:
    config = load_config(REPO / "config.example.toml")
    assert len(config.tags) >= 40
    assert all(tag_problems(t) == [] for t in config.tags)
    assert {"nato", "eu", "un", "g7", "brics", "sanctions", "nuclear", "missiles", "drones",
            "troop-deployment", "ceasefire", "elections", "cyber-attacks"} <= {t.id for t in config.tags}
    assert any(t.priority for t in config.tags)
    for t in config.tags:
        assert {"fr", "en"} <= set(t.labels), t.id


def test_valid_tag_is_read() -> None:
    config = parse_config(
        '[tags.north-korea]\nlabel = { fr = "Corée du Nord", en = "North Korea" }\n'
        'keywords = ["Corée du Nord", "nord-coréen*", "RPDC"]\nexclude = []\nmin_mentions = 2\n'
        'priority = true\n',
        Path("t.toml"),
    )
    (tag,) = config.tags
    assert (tag.id, tag.keywords, tag.min_mentions, tag.priority) == (
        "north-korea", ("Corée du Nord", "nord-coréen*", "RPDC"), 2, True)
    assert tag.label("fr") == "Corée du Nord"


@pytest.mark.parametrize("body, expected", [
    ('keywords = []', "tags.iran.keywords: must list at least one keyword"),
    ('', "tags.iran.keywords: must list at least one keyword"),
    ('keywords = "Iran"', "tags.iran.keywords: must be a list of strings"),
    ('keywords = ["Iran", "***"]', "tags.iran.keywords[1]: '***' can never match: it has no letter or digit"),
    ('keywords = ["’"]', "tags.iran.keywords[0]: '’' can never match: it has no letter or digit"),
    ('keywords = ["Ir*an"]', "tags.iran.keywords[0]: 'Ir*an' may only use * once, at the end"),
    ('keywords = ["Iran **"]', "tags.iran.keywords[0]: 'Iran **' may only use * once, at the end"),
    ('keywords = ["Iran *"]', "tags.iran.keywords[0]: 'Iran *' can never match: * must directly follow"),
    ('keywords = ["Iran"]\nexclude = ["--"]', "tags.iran.exclude[0]: '--' can never match"),
    ('keywords = ["Iran", "Téhéran"]\nexclude = ["iran"]',
     "tags.iran.keywords[0]: 'Iran' can never match: the tag's exclude phrases cancel it"),
    ('keywords = ["Iranian*"]\nexclude = ["Iran*"]',
     "tags.iran.keywords[0]: 'Iranian*' can never match: the tag's exclude phrases cancel it"),
    ('keywords = ["Téhéran", "Tehran airport"]\nexclude = ["Tehran"]',
     "tags.iran.keywords[1]: 'Tehran airport' can never match"),
    ('keywords = ["Iran"]\nmin_mentions = 0', "tags.iran.min_mentions: must be between 1 and 100"),
    ('keywords = ["Iran"]\npriority = "yes"', "tags.iran.priority: must be true or false"),
    ('keywords = ["Iran"]\nkeyword = ["Tehran"]', "tags.iran.keyword: unknown key"),
    ('keywords = ["Iran"]\nlabel = 3', "tags.iran.label: must be a string or a table"),
])
def test_bad_tag_is_reported(body: str, expected: str) -> None:
    problems = problems_of(f"[tags.iran]\n{body}\n")
    assert any(re.match(rf"t\.toml:\d+: {re.escape(expected)}", p) for p in problems), problems


@pytest.mark.parametrize("tag_id", ["North_Korea", "north korea", "North-Korea", "-iran", "iran-"])
def test_tag_id_must_be_a_slug(tag_id: str) -> None:
    problems = problems_of(f'[tags."{tag_id}"]\nkeywords = ["x"]\n')
    assert any("tag id must be lower-case words joined by '-'" in p for p in problems), problems


def test_exclude_that_only_shadows_some_occurrences_is_fine() -> None:
    toml = '[tags.jordan]\nkeywords = ["Jordan"]\nexclude = ["Jordan Bardella"]\n'
    config = parse_config(toml, Path("t.toml"))
    assert config.tags[0].exclude == ("Jordan Bardella",)


def test_every_problem_is_listed_at_once() -> None:
    problems = problems_of(
        '[tags.a]\nkeywords = []\n[tags.B_b]\nkeywords = ["x"]\n[tags.c]\nkeywords = ["?", "y*z"]\n'
    )
    assert len(problems) == 4, problems


def test_newsbot_check_reports_never_matching_keyword(tmp_path: Path, capsys) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[tags.georgia]\nkeywords = ["Georgia", "Atlanta Georgia"]\nexclude = ["Atlanta"]\n')
    assert main(["--config", str(path), "check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        f"{path}:2: tags.georgia.keywords[1]: 'Atlanta Georgia' can never match: "
        "the tag's exclude phrases cancel it wherever it appears"
    )
