"""The command line, the one place for it; nothing else in :mod:`bot` imports it."""

from bot.cli.commands import main

__all__ = ["main"]
