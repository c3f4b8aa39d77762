"""Files shipped inside the package: the demo's sample feeds and the documented example config.

In git, ``bot/cli/samples`` and ``bot/cli/config.example.toml`` are symlinks to
``data/samples/`` and ``config.example.toml`` (those stay the one copy to edit); a wheel holds
the files themselves (``[tool.setuptools.package-data]``). Either way they are read through
``importlib.resources``, so an editable install, a wheel and ``pipx`` see the same files.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from bot.errors import NewsbotError

_FILES = files("bot.cli")


def example_config_text() -> str:
    """The documented example config (``config.example.toml``)."""
    return _read(_FILES / "config.example.toml")


def samples_dir() -> Path:
    """The folder of sample feeds. Installed wheels are unpacked, so it is a real folder."""
    folder = _FILES / "samples"
    if not isinstance(folder, Path) or not (folder / "demo.toml").is_file():
        raise NewsbotError(f"the sample feeds are missing from the installed package ({folder})")
    return folder


def _read(resource: Traversable) -> str:
    try:
        return resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise NewsbotError(f"{resource} is missing from the installed package: {exc}") from None


def write_example_config(path: Path) -> None:
    """``newsbot init``: the example config at ``path``; never over an existing file."""
    text = example_config_text()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise NewsbotError(f"{path} already exists: not overwritten (edit it or name another)") from None
    except OSError as exc:
        raise NewsbotError(f"cannot write {path}: {exc.strerror or exc}") from None
