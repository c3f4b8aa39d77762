"""The ``newsbot`` command line. Each command is a short call into the modules it names.

Every command exits non-zero with a one-line reason on bad input (a ``NewsbotError``), never
with a traceback for a user error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from bot.config import Config, load_config
from bot.errors import ConfigError, NewsbotError

Handler = Callable[[argparse.Namespace], int]


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.config)


# -- commands ------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config: print every problem (exit 1) or a short summary (exit 0)."""
    from bot.reports import config_summary

    config = _load(args)
    print(config_summary(config))
    return 0


# -- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Poll news feeds, fold copies of one story, tag it, send Telegram digests.",
    )
    parser.add_argument(
        "--config", metavar="PATH",
        help="config file (default: $NEWSBOT_CONFIG, else ./config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    add("check", cmd_check, "validate the config file and summarise it")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
