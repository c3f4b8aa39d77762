"""deploy/newsbot.service: it parses (systemd-analyze verify when present, and a structural check
of the keys docs/DEPLOY.md relies on), and its command line is one newsbot understands."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.commands import build_parser

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "newsbot.service"
SANDBOX = ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
           "ProtectKernelTunables", "ProtectControlGroups", "RestrictAddressFamilies",
           "CapabilityBoundingSet", "SystemCallFilter")


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)   # systemd repeats keys
    parser.optionxform = str                                               # type: ignore[assignment]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_has_a_dedicated_user_state_directory_restart_and_sandboxing() -> None:
    unit = _unit()
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["User"] == "newsbot" and service["Group"] == "newsbot"
    assert service["StateDirectory"] == "newsbot" and service["WorkingDirectory"] == "/var/lib/newsbot"
    assert service["Restart"] == "on-failure" and service["ProtectSystem"] == "strict"
    assert service["LoadCredential"].startswith("telegram-token:")
    assert "\nEnvironment=NEWSBOT_CONFIG=/etc/newsbot/config.toml\n" in UNIT.read_text(encoding="utf-8")
    for key in SANDBOX:
        assert key in service, key
    assert "@resources" not in service["SystemCallFilter"]      # parse workers call setrlimit
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]


def test_unit_command_line_is_a_newsbot_command() -> None:
    argv = shlex.split(_unit()["Service"]["ExecStart"])
    assert Path(argv[0]).name == "newsbot"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this venv's newsbot script.
    newsbot = Path(sys.executable).parent / "newsbot"
    text = UNIT.read_text(encoding="utf-8").replace("/opt/newsbot/bin/newsbot", str(newsbot))
    copy = tmp_path / "newsbot.service"
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def _documented_commands(text: str) -> list[list[str]]:
    """The argv (after the program) of every `newsbot ...` command in the ```sh blocks of a doc."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        block = re.sub(r"\$\([^)]*\)", "X", block.replace("\\\n", " "))
        for line in block.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
            lexer.whitespace_split = True
            words = list(lexer)
            segments: list[list[str]] = [[]]
            for word in words:
                if word and set(word) <= set(";&|<>"):
                    segments.append([])
                else:
                    segments[-1].append(word)
            for segment in segments:
                if segment[:2] in (["docker", "exec"], ["sudo", "-u"]):   # ... NAME newsbot ...
                    segment = segment[3:]
                if segment and Path(segment[0]).name == "newsbot":
                    commands.append(segment[1:])
    return commands


@pytest.mark.parametrize("doc", ["docs/DEPLOY.md", "README.md"])
def test_every_documented_newsbot_command_parses(doc: str) -> None:
    """Each command the operator is told to type exists with those options (argparse exits 2 on
    an unknown subcommand or option): DEPLOY.md is followed to the letter."""
    commands = _documented_commands((ROOT / doc).read_text(encoding="utf-8"))
    assert len(commands) >= 5
    for argv in commands:
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{doc}: `newsbot {shlex.join(argv)}` does not parse (exit {exc.code})")
