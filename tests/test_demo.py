"""`newsbot demo`: the README's first command, run in-process on the bundled samples."""

from __future__ import annotations

import re

from bot.cli import main


def test_demo_runs_offline_and_folds_the_seed_story(capsys, tmp_path) -> None:
    assert main(["demo", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "7 feeds: 7 ok" in out and "0 errors" in out
    seed = next(line for line in out.splitlines() if "Corée du Nord a commencé à envoyer" in line)
    assert re.fullmatch(r"cluster \d+: .*", seed)                  # the format of `newsbot clusters`
    counts, sources_line, articles = out[out.index(seed):].splitlines()[1:4]
    sources = int(re.search(r"from (\d+) sources", counts).group(1))
    assert sources >= 3 and "Le Monde" in sources_line and "News Day FR" in sources_line
    assert re.fullmatch(r"    articles: \d+(, \d+)+", articles)
    assert "== The digest a new subscriber would receive" in out
    assert (tmp_path / "demo.db").exists()
