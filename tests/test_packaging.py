"""Install like a user: build the wheel, install it in a fresh venv outside the checkout, and run
it there: `newsbot demo`, `newsbot init`, and the Dockerfile's command with its health check.

The venv borrows the test venv's installed dependencies through a .pth file and gets the wheel
with --no-deps, so nothing is downloaded; the checkout is not on its path (checked).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot_harness import TOKEN
from tests.fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer
from tests.running import clean_env, feeds_toml, free_port, running, scrape, serve_samples, wait_until

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "data/samples", "config.example.toml", "pyproject.toml", "README.md")


def _run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=180,
                            **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the newsbot wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"                       # a copy, so parallel runs never share a build/ folder
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", base / "dist", src)
    wheel = next((base / "dist").glob("newsbot-*.whl"))
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    purelib = _run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    Path(purelib.stdout.strip(), "_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-deps",
         "--no-index", wheel)
    where = _run(venv / "bin" / "python", "-c", "import bot; print(bot.__file__)", cwd=base)
    assert where.stdout.startswith(str(venv)), where.stdout    # the wheel's code, not the checkout's
    return venv / "bin"


def _env(bin_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def test_demo_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    result = _run(installed / "newsbot", "demo", cwd=tmp_path, env=_env(installed))
    assert "7 feeds: 7 ok" in result.stdout and "0 errors" in result.stdout
    assert "== The digest a new subscriber would receive" in result.stdout
    assert list(tmp_path.iterdir()) == []                     # nothing left behind


def test_init_writes_the_documented_example_and_refuses_to_overwrite(installed: Path, tmp_path: Path) -> None:
    _run(installed / "newsbot", "init", cwd=tmp_path, env=_env(installed))
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == \
        (ROOT / "config.example.toml").read_text(encoding="utf-8")
    checked = _run(installed / "newsbot", "check", cwd=tmp_path, env=_env(installed))
    assert "config.toml: OK" in checked.stdout
    (tmp_path / "config.toml").write_text("# mine\n", encoding="utf-8")
    again = subprocess.run([installed / "newsbot", "init"], cwd=tmp_path, env=_env(installed),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == "# mine\n"


def _dockerfile() -> dict[str, str]:
    """The last value of each instruction of the Dockerfile's final stage (continuations joined)."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    final = text[text.rindex("\nFROM "):]
    found: dict[str, str] = {}
    for line in final.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found[word.upper()] = rest.strip()
    return found


def test_dockerfile_command_runs_the_installed_wheel(installed: Path, tmp_path: Path,
                                                     feed_server: FeedServer) -> None:
    docker = _dockerfile()
    command = json.loads(docker["ENTRYPOINT"]) + json.loads(docker["CMD"])
    healthcheck = json.loads(docker["HEALTHCHECK"].split(" CMD ", 1)[1])
    image_env = dict(re.findall(r"(\w+)=(\S+)", docker["ENV"]))
    assert command == ["newsbot", "run"] and healthcheck == ["newsbot", "health"]
    assert docker["USER"] == "newsbot" and "/var/lib/newsbot" in docker["VOLUME"]
    assert image_env["NEWSBOT_CONFIG"] == "/etc/newsbot/config.toml"
    # The image's layout, under tmp_path: config, secret and volume.
    secret = tmp_path / "run/secrets/telegram_token"
    secret.parent.mkdir(parents=True)
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    volume = tmp_path / "var/lib/newsbot"
    port = free_port()
    config = tmp_path / "etc/newsbot/config.toml"
    config.parent.mkdir(parents=True)
    with FakeBotAPI(token=TOKEN) as fake:
        config.write_text(
            f'[storage]\npath = "{volume / "newsbot.db"}"\n[polling]\nparse_processes = 0\n'
            f'[telegram]\ntoken_file = "{secret}"\napi_base_url = "{fake.base_url}"\n'
            f'[metrics]\nlisten = "127.0.0.1:{port}"\n' + feeds_toml(serve_samples(feed_server)),
            encoding="utf-8")
        env = _env(installed, **{**image_env, "NEWSBOT_CONFIG": str(config)})
        with running(command, env=env, cwd=tmp_path) as proc:
            wait_until(lambda: subprocess.run(healthcheck, env=env, capture_output=True).returncode == 0,
                       30, "the HEALTHCHECK command to pass")
            wait_until(lambda: scrape(port)[("newsbot_feeds", (("state", "ok"),))] == 3, 30, "3 feeds ok")
            health = subprocess.run(healthcheck, env=env, capture_output=True, text=True, timeout=30)
            fake.push_command(42, "/start")
            fake.wait_for_sync(lambda: len(fake.sent_to(42)) == 1, timeout=10, what="welcome")
    assert proc.returncode == 0, proc.err                                   # type: ignore[attr-defined]
    assert (health.returncode, health.stdout) == (0, "ok\n")
    stopped = subprocess.run(healthcheck, env=env, capture_output=True, text=True, timeout=30)
    assert stopped.returncode == 1 and "not answering" in stopped.stdout
    assert (volume / "newsbot.db").exists()


def test_every_third_party_import_is_a_declared_dependency(installed: Path) -> None:
    """The installed venv borrows the test venv's packages, so a missing dependency would not show
    above: compare bot/'s imports with the wheel's Requires-Dist."""
    import ast
    from importlib.metadata import packages_distributions

    roots = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
    third_party = roots - set(sys.stdlib_module_names) - {"bot"}
    dist_info = next(installed.parent.glob("lib/python*/site-packages/newsbot-*.dist-info"))
    requires = (dist_info / "METADATA").read_text(encoding="utf-8")
    declared = {
        re.split(r"[\s\[<>=!~;]", line.removeprefix("Requires-Dist: "))[0].lower().replace("_", "-")
        for line in requires.splitlines() if line.startswith("Requires-Dist: ") and "extra ==" not in line
    }
    owners = packages_distributions()
    for module in sorted(third_party):
        names = {n.lower().replace("_", "-") for n in owners.get(module, [module])}
        assert names & declared, f"bot imports {module} ({names}) but pyproject does not depend on it"


def test_the_package_files_are_links_to_the_one_copy_in_the_repo() -> None:
    files = ROOT / "bot" / "cli"
    assert os.readlink(files / "samples") == "../../data/samples"
    assert os.readlink(files / "config.example.toml") == "../../config.example.toml"
    assert sorted(p.name for p in (files / "samples").iterdir()) == \
        sorted(p.name for p in (ROOT / "data" / "samples").iterdir())
