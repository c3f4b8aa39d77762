"""`newsbot demo`: the README's first command, run in-process on the bundled samples."""

from __future__ import annotations

import re

from bot.cli import main


def test_demo_runs_offline_and_folds_the_seed_story(capsys, tmp_path) -> None:
    assert main(["demo", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "7 feeds: 7 ok" in out and "0 errors" in out
    seed = next(line for line in out.splitlines() if "Corée du Nord a commencé à envoyer" in line)
    block = out[out.index(seed):].splitlines()[1]
    sources = int(re.search(r"from (\d+) sources", block).group(1))
    assert sources >= 3 and "Le Monde" in block and "News Day FR" in block
    assert "== The digest a new subscriber would receive" in out
    assert (tmp_path / "demo.db").exists()
