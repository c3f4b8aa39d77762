"""``newsbot feeds import|export|add|remove``: real config files, real HTTP to the local feed server.

The config under edit is a copy of config.example.toml (comments, blank lines, the TELEGRAM
banner after the last feed): after an edit the file must still read as the user wrote it, only
with the feed added or removed, and pass the same validation as ``newsbot check``.
"""

from __future__ import annotations

import difflib
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import listparser
import pytest

from bot.cli import main
from bot.config import load_config
from bot.config.opml import MAX_OPML_FEEDS
from tests.feedserver import FeedServer
from tests.helpers import rss

REPO = Path(__file__).resolve().parent.parent
OPML = REPO / "tests/data/opml/subscriptions.opml"
JSON_FEED = REPO / "tests/data/feeds/jsonfeed11-basic.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes((REPO / "config.example.toml").read_bytes())
    path.chmod(0o640)
    return path


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def feeds_by_name(path: Path) -> dict[str, object]:
    return {f.name: f for f in load_config(path).feeds}


# -- import --------------------------------------------------------------------------------------


def test_import_adds_new_feeds_skips_known_ones_and_keeps_the_file(capsys, config_file: Path) -> None:
    before = config_file.read_text(encoding="utf-8")
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "import", str(OPML))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "4 added, 5 skipped"
    assert "added: Kyiv Independent <https://kyivindependent.example/feed/> tags: ukraine" in lines
    assert "added: NK News <https://nknews.example/rss?b=2&a=1> tags: iran, north-korea" in lines
    assert any(line.startswith("skipped: Le Monde & co <") and "already configured as "
               "'Le Monde — International'" in line for line in lines)          # https/www/port/slash
    assert any("skipped: BBC News — World <https://other-bbc.example/rss>: the name" in line
               for line in lines)
    assert "skipped: Local file: not an http(s) feed URL" in lines
    assert "skipped: Script: not an http(s) feed URL" in lines
    assert any(line.startswith("skipped: NK News again") and "listed twice" in line for line in lines)
    assert "categories that are not tag ids (not used): Tech, Asie" in lines

    after = config_file.read_text(encoding="utf-8")
    removed, added = changed_lines(before, after)
    assert removed == []                                           # every comment and line kept
    assert added.count("[[feeds]]") == 4 and 'name = "Title only, no text"' in added
    assert after.index('name = "no-title.example"') < after.index("# ===== TELEGRAM")   # banner stays below
    feeds = feeds_by_name(config_file)                             # passes the config validation
    assert feeds["NK News"].tags == ("iran", "north-korea") and feeds["Kyiv Independent"].tags == ("ukraine",)
    assert oct(config_file.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]     # no temp file left

    code, out, _ = run(capsys, "--config", str(config_file), "feeds", "import", str(OPML))
    assert code == 0 and out.splitlines()[-1] == "0 added, 9 skipped"            # idempotent
    assert config_file.read_text(encoding="utf-8") == after


def test_import_dry_run_changes_nothing(capsys, config_file: Path) -> None:
    before = config_file.read_bytes()
    code, out, _ = run(capsys, "--config", str(config_file), "feeds", "import", "--dry-run", str(OPML))
    assert code == 0 and out.splitlines()[-1] == "4 to add, 5 skipped" and "would add: NK News" in out
    assert config_file.read_bytes() == before


def test_import_into_an_invalid_config_is_refused(capsys, config_file: Path) -> None:
    config_file.write_text(config_file.read_text(encoding="utf-8") + "\n[polling.oops]\n", encoding="utf-8")
    before = config_file.read_bytes()
    code, _, err = run(capsys, "--config", str(config_file), "feeds", "import", str(OPML))
    assert code == 1 and "polling.oops: unknown key" in err
    assert config_file.read_bytes() == before


def opml(body: str, head: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return f'{head}<opml version="2.0"><head/><body>{body}</body></opml>'.encode()


@pytest.mark.parametrize(("data", "message"), [
    (rss([("a", "b")]).encode(), "not an OPML file (no <opml> element)"),
    (b"", "not an OPML file (no <opml> element)"),
    (b"\x00\xff" * 1000, "not an OPML file (no <opml> element)"),
    (opml("<outline/>" * 10) + b" " * (10 * 1024 * 1024), "OPML file larger than 10 MB"),
    (opml("".join(f'<outline xmlUrl="https://f.example/{i}"/>' for i in range(MAX_OPML_FEEDS + 1))),
     f"the file lists {MAX_OPML_FEEDS + 1:,} feeds; at most {MAX_OPML_FEEDS:,} at once"),
])
def test_hostile_opml_files_are_one_line_errors(capsys, config_file: Path, tmp_path: Path,
                                                data: bytes, message: str) -> None:
    before = config_file.read_bytes()
    file = tmp_path / "in.opml"
    file.write_bytes(data)
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "import", str(file))
    assert (code, out, err) == (1, "", f"newsbot: {message}\n")
    assert config_file.read_bytes() == before


def test_hostile_opml_content_is_read_safely(capsys, config_file: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    doctype = (f'<!DOCTYPE opml [<!ENTITY l0 "lol">{laughs}<!ENTITY xxe SYSTEM "file://{secret}">]>')
    deep = "<outline text='x'>" * 5000 + '<outline text="Deep" xmlUrl="https://deep.example/rss"/>' + (
        "</outline>" * 5000)
    body = (f'<outline text="&l9;" xmlUrl="https://laughs.example/rss"/>'
            f'<outline text="&xxe;" xmlUrl="https://xxe.example/rss"/>'
            f'<outline text="{"N" * 5000}" xmlUrl="https://long.example/rss"/>'
            f'<outline text="Ctrl\x01name\ttab" xmlUrl="https://ctrl.example/rss"/>' + deep)
    file = tmp_path / "in.opml"
    file.write_bytes(opml(body, '<?xml version="1.0" encoding="UTF-8"?>' + doctype))
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "import", str(file))
    assert code == 0, err
    text = config_file.read_text(encoding="utf-8")
    assert "lollol" not in text and "TOP-SECRET" not in text and "TOP-SECRET" not in out
    names = set(feeds_by_name(config_file))
    assert {"&l9;", "&xxe;", "N" * 200, "Ctrlname tab", "Deep"} <= names


def test_latin1_opml_is_decoded(capsys, config_file: Path, tmp_path: Path) -> None:
    file = tmp_path / "in.opml"
    file.write_bytes(opml('<outline text="Noël à l\'Élysée" xmlUrl="https://e.example/rss"/>',
                          '<?xml version="1.0" encoding="ISO-8859-1"?>').decode().encode("latin-1"))
    code, _, err = run(capsys, "--config", str(config_file), "feeds", "import", str(file))
    assert code == 0, err
    assert "Noël à l'Élysée" in feeds_by_name(config_file)


# -- export --------------------------------------------------------------------------------------


def test_export_is_opml_2_that_imports_back(capsys, config_file: Path, tmp_path: Path) -> None:
    text = config_file.read_text(encoding="utf-8").replace(
        'name = "DW — All"', 'name = "DW <All> & \\"friends\\""\ntags = ["ukraine", "russia"]')
    config_file.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "export")
    assert code == 0, err
    root = ET.fromstring(out)                                         # well-formed XML
    assert root.tag == "opml" and root.get("version") == "2.0" and root.find("head/title") is not None
    folder = next(o for o in root.iter("outline") if o.get("text") == "ukraine")
    (dw,) = list(folder)
    assert dw.get("text") == 'DW <All> & "friends"' and dw.get("category") == "ukraine,russia"
    assert dw.get("type") == "rss" and dw.get("xmlUrl") == "https://rss.dw.com/rdf/rss-en-all"
    assert listparser.parse(out.encode()).version == "opml2"

    out_file = tmp_path / "feeds.opml"
    assert run(capsys, "--config", str(config_file), "feeds", "export", "-o", str(out_file))[0] == 0
    empty = tmp_path / "empty.toml"
    empty.write_text(text.split("[[feeds]]")[0] + text[text.index("# ===== TELEGRAM"):], encoding="utf-8")
    code, out, err = run(capsys, "--config", str(empty), "feeds", "import", str(out_file))
    assert code == 0 and out.splitlines()[-1] == "6 added, 0 skipped", err
    original = load_config(config_file).feeds
    again = load_config(empty).feeds
    assert [(f.name, f.url, f.tags) for f in again] == [(f.name, f.url, f.tags) for f in original]


def test_plain_feeds_still_prints_the_state(capsys, config_file: Path) -> None:
    code, out, _ = run(capsys, "--config", str(config_file), "feeds")
    assert code == 0 and out == "no feed polled yet (run: newsbot poll --once)\n"


# -- add / remove ----------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>Site</title><base href="/news/">
<link rel="stylesheet" href="/s.css"><link rel="alternate" type="text/html" href="/fr/">
<link rel="alternate" type="application/rss+xml" title="Main" href="feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://elsewhere.example/atom"></head>
<body><p>Hello</p></body></html>"""


def test_add_a_feed_url(capsys, config_file: Path, feed_server: FeedServer) -> None:
    feed_server.route("/rss", rss([("a", "One"), ("b", "Two")], title="Agence Test"))
    before = config_file.read_text(encoding="utf-8")
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "add", feed_server.url("/rss"),
                         "--tags", "ukraine,russia")
    assert code == 0, err
    assert out == (f"added: Agence Test <{feed_server.url('/rss')}>: RSS 2.0, 2 entries now, "
                   "tags: ukraine, russia\n")
    feed = feeds_by_name(config_file)["Agence Test"]
    assert (feed.url, feed.source) == (feed_server.url("/rss"), "Agence Test")
    assert feed.tags == ("ukraine", "russia")
    assert changed_lines(before, config_file.read_text(encoding="utf-8"))[0] == []
    assert feed_server.hits("/rss") == 1                          # fetched once, parsed once

    code, _, err = run(capsys, "--config", str(config_file), "feeds", "add", feed_server.url("/rss") + "/")
    assert code == 1 and err == "newsbot: not added: already configured as 'Agence Test'\n"
    assert feed_server.hits("/rss") == 1                          # known before fetching it again


def test_add_a_page_finds_its_feed(capsys, config_file: Path, feed_server: FeedServer) -> None:
    feed_server.route("/news/index.html", PAGE, content_type="text/html; charset=utf-8")
    feed_server.route("/news/feed.xml", rss([("a", "One")], title="Site news"))
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "add",
                         feed_server.url("/news/index.html"), "--name", "My site")
    assert code == 0, err
    assert out.startswith(f"added: My site <{feed_server.url('/news/feed.xml')}> (found on ")
    assert feeds_by_name(config_file)["My site"].source == "Site news"


def test_add_a_json_feed_advertised_by_a_page(capsys, config_file: Path, feed_server: FeedServer) -> None:
    feed_server.route("/", '<html><head><link rel="alternate" type="application/feed+json" href="/f.json">'
                      "</head></html>", content_type="text/html")
    feed_server.route_file("/f.json", JSON_FEED, content_type="application/feed+json")
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "add", feed_server.url("/"))
    assert code == 0 and "JSON Feed 1.1, 4 entries now" in out, err
    assert feeds_by_name(config_file)["Le Correspondant — International"].url == feed_server.url("/f.json")


@pytest.mark.parametrize(("route", "args", "message"), [
    ("page", (), 'no feed found on the page {url} (no <link rel="alternate"> to an RSS, Atom or JSON feed)'),
    ("missing", (), "{url}: HTTP 404 Not Found"),
    ("text", (), "{url}: not a feed: got text/plain"),
    ("json", (), "{url}: not a feed: got application/json with no jsonfeed.org version"),
    ("broken-link", (), "the page {url} lists feeds but none could be read ("),
    ("feed", ("--tags", "Not A Tag"), "--tags: 'Not A Tag' is not a tag id (lower-case words joined by '-')"),
    ("feed", ("--tags", "unknown-tag"), "feeds[6].tags: 'unknown-tag' is not a configured tag"),
    (None, (), "the URL must be an http:// or https:// URL, got scheme file: 'file:///etc/passwd'"),
])
def test_add_errors_are_one_line_and_leave_the_config(capsys, config_file: Path, feed_server: FeedServer,
                                                      route: str | None, args: tuple[str, ...],
                                                      message: str) -> None:
    feed_server.route("/page", "<html><head><title>x</title></head><body>no feeds</body></html>",
                      content_type="text/html")
    feed_server.route("/missing", "gone", status=404, content_type="text/plain")
    feed_server.route("/text", "just words", content_type="text/plain")
    feed_server.route("/json", json.dumps({"items": []}), content_type="application/json")
    feed_server.route("/broken-link", '<html><head><link rel="alternate" type="application/rss+xml" '
                      'href="/nowhere"></head></html>', content_type="text/html")
    feed_server.route("/feed", rss([("a", "One")]))
    url = feed_server.url(f"/{route}") if route else "file:///etc/passwd"
    before = config_file.read_bytes()
    code, out, err = run(capsys, "--config", str(config_file), "feeds", "add", url, *args)
    assert code == 1 and out == "" and len(err.splitlines()) == 1, err
    assert message.format(url=url) in err, err
    assert config_file.read_bytes() == before
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]


def test_remove_keeps_the_rest_of_the_file(capsys, config_file: Path) -> None:
    before = config_file.read_text(encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(config_file), "feeds", "remove", "google news — world")
    assert code == 0 and out == "removed: Google News — World\n"
    after = config_file.read_text(encoding="utf-8")
    removed, added = changed_lines(before, after)
    assert added == [] and "# ===== TELEGRAM (owned by the Telegram work) =====" in after
    assert 'name = "Google News — World"' in removed and len(removed) == 5
    code, _, err = run(capsys, "--config", str(config_file), "feeds", "remove", "nope")
    assert code == 1 and err.strip().endswith("no feed named 'nope'")


def test_a_symlinked_config_stays_a_symlink(capsys, config_file: Path, tmp_path: Path,
                                            feed_server: FeedServer) -> None:
    link = tmp_path / "link.toml"
    os.symlink(config_file, link)
    assert run(capsys, "--config", str(link), "feeds", "remove", "DW — All")[0] == 0
    assert link.is_symlink() and "DW — All" not in config_file.read_text(encoding="utf-8")


def test_edits_of_other_layouts(tmp_path: Path) -> None:
    from bot.config.edit import NewFeed, add_feeds, remove_feed

    inline = tmp_path / "inline.toml"
    inline.write_text('# my feeds\nfeeds = [\n  { name = "A", url = "https://a.example/rss" },  # first\n]\n'
                      "[polling]\ninterval = \"10m\"  # keep\n", encoding="utf-8")
    assert add_feeds(inline, [NewFeed("B", "https://b.example/rss", source="B's")]).added
    assert [f.name for f in load_config(inline).feeds] == ["A", "B"]
    assert remove_feed(inline, "A") == "A"
    text = inline.read_text(encoding="utf-8")
    assert [f.name for f in load_config(inline).feeds] == ["B"]
    assert text.startswith("# my feeds\n") and 'interval = "10m"  # keep' in text

    commented = tmp_path / "commented.toml"
    commented.write_text('[[feeds]]\nname = "A"\nurl = "https://a.example/rss"\n\n# B is the one I read\n'
                         '[[feeds]]\nname = "B"\nurl = "https://b.example/rss"\n# ---- polling ----\n'
                         '[polling]\ninterval = "10m"\n', encoding="utf-8")
    remove_feed(commented, "A")                      # B's comment stays above B
    assert commented.read_text(encoding="utf-8").index("# B is the one") < commented.read_text().index('"B"')
    remove_feed(commented, "B")                      # the last feed: the polling banner stays
    assert commented.read_text(encoding="utf-8") == '# ---- polling ----\n[polling]\ninterval = "10m"\n'
    assert load_config(commented).feeds == ()
    add_feeds(commented, [NewFeed("C", "https://c.example/rss")])
    assert [f.name for f in load_config(commented).feeds] == ["C"]


def _small_file_limit() -> None:
    """In the child: files may not grow past 4 KB (the config is ~20 KB), and going past it is an
    error (EFBIG) rather than the default SIGXFSZ kill."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_failed_write_leaves_the_old_file(config_file: Path) -> None:
    import subprocess
    import sys

    before = config_file.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config_file), "feeds", "import", str(OPML)],
        cwd=REPO, capture_output=True, text=True, timeout=60, preexec_fn=_small_file_limit,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"{config_file}: cannot write the config file (File too large); "
                                     "it was left as it was")
    assert config_file.read_bytes() == before
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]
