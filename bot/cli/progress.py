"""Progress of long CLI work (``poll --once``, ``retag``): a tqdm bar with counts on a terminal,
plain lines when stderr is not one (a log file, cron, a pipe), never bar control characters there.

Logs written while a bar is shown go above it (``logging_redirect_tqdm``), so neither garbles the
other.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from collections.abc import Iterator
from typing import TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from bot.models import FeedPollOutcome
from bot.pipeline.dedup.report import plural


def on_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):       # a closed or replaced stream
        return False


def _columns(stream: TextIO) -> int:
    """The terminal's width; 0 when it has none set (a bare pseudo-terminal)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def _bar(total: int, desc: str, unit: str, stream: TextIO) -> tqdm:
    # tqdm draws nothing on a terminal of width 0: then assume 80 columns.
    width = _columns(stream)
    return tqdm(total=total, desc=desc, unit=f" {unit}", file=stream, leave=True, mininterval=0.2,
                dynamic_ncols=width > 0, ncols=None if width > 0 else 80,
                bar_format="{desc}: {bar:30} {n_fmt}/{total_fmt}{unit} [{elapsed}<{remaining}]{postfix}")


class PollProgress:
    """One bar over the feeds (postfix: ok / 304 / errors so far), then one over the articles
    being decided (duplicates, stories). Not on a terminal: one plain line per feed, then one
    line with the number decided."""

    def __init__(self, total: int, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = on_terminal(self.stream)
        self.total = total
        self.results: Counter[str] = Counter()
        self.decided = 0
        self._feeds: tqdm | None = None
        self._dedup: tqdm | None = None

    def __call__(self, outcome: FeedPollOutcome) -> None:
        self.results[outcome.status] += 1
        if not self.tty:
            print(f"polled {outcome.feed}: {outcome.status}", file=self.stream, flush=True)
            return
        if self._feeds is None:
            self._feeds = _bar(self.total, "polling", "feeds", self.stream)
        r = self.results
        self._feeds.set_postfix_str(f"{r['ok']} ok, {r['not-modified']} not modified, "
                                    f"{plural(r['error'], 'error')}", refresh=False)
        self._feeds.update(1)

    def deciding(self, done: int, left: int) -> None:
        """Called by the dedup drain: ``done`` decided so far, ``left`` still undecided."""
        if self.tty:
            if self._dedup is None:
                self._close_feeds()
                self._dedup = _bar(done + left, "deciding duplicates and stories", "articles", self.stream)
            self._dedup.total = done + left
            self._dedup.update(done - self._dedup.n)
        self.decided = done

    def _close_feeds(self) -> None:
        if self._feeds is not None:
            self._feeds.close()
            self._feeds = None

    def done(self) -> None:
        self._close_feeds()
        if self._dedup is not None:
            self._dedup.close()
            self._dedup = None
        elif self.decided and not self.tty:
            print(f"decided {self.decided} articles (duplicates and stories)", file=self.stream, flush=True)


class CountProgress:
    """``(done, total)`` callbacks as one bar on a terminal, else a plain line per call."""

    def __init__(self, desc: str, unit: str, stream: TextIO | None = None):
        self.desc, self.unit = desc, unit
        self.stream = stream or sys.stderr
        self.tty = on_terminal(self.stream)
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            print(f"{self.desc}: {done}/{total} {self.unit}", file=self.stream, flush=True)
            return
        if self._bar is None:
            self._bar = _bar(total, self.desc, self.unit, self.stream)
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextlib.contextmanager
def logs_above_bars(tty: bool) -> Iterator[None]:
    """While a bar may be shown, log records are written above it instead of through it."""
    if not tty:
        yield
        return
    with logging_redirect_tqdm():
        yield
