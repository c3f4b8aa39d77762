"""Build corpus.jsonl: the labelled dedup corpus (deterministic; rerun after editing stories.py).

    .venv/bin/python tests/data/dedup/build_corpus.py

Every piece in stories.py is an original article (its own dup_group). Copies are derived the
way they appear in real feeds:

* ``gn``: the Google News item for it (opaque news.google.com link, " - Publisher" suffix kept
  or removed as parse.py does, empty summary as parse.py leaves it); for about half the
  stories a topic-feed item carries the related-coverage list naming the story's other pieces;
* ``syndication``: wire copy republished verbatim by another outlet;
* ``farm``: a content farm's padded copy (a different first line, the seed's boilerplate lines,
  the text plus extra paragraphs; sometimes a rewritten clickbait title);
* ``truncated``: an aggregator's copy with the summary cut off mid-text;
* ``samefeed``: the same URL from another feed of the publisher with a rubric prefix;
* ``prefix``: the AMP/mobile URL with a rubric prefix ("EN DIRECT -", "VIDÉO.", "UPDATE:");
* ``edit``: the publisher's later headline edit under a new URL (minor words, punctuation);
* ``flash``: a syndicated copy with the headline edited and the summary cut.

Labels: ``dup_group`` (same text), ``story`` (same event), ``hard`` (hard-negative set: stories
on the same topic, most the same day, that must stay apart).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stories import FARMS, STORIES, SYNDICATORS  # noqa: E402

BASE = 1729468800.0  # 2024-10-21 00:00 UTC
SEED = (HERE / "seed_news_day_fr.txt").read_text(encoding="utf-8")

FARM_OPENERS = {
    "fr": ["Voici ce qu’il faut retenir de cette actualité qui fait réagir.",
           "Une information qui pourrait changer la donne dans les prochains jours.",
           "Retour sur un événement suivi de près par nos lecteurs."],
    "en": ["Here is everything you need to know about this developing story.",
           "This is a story our readers have been following closely.",
           "A major development that could change things in the coming days."],
}
FARM_EXTRA = {
    "fr": ["Les réactions se sont multipliées dans la journée, tandis que les analystes appellent à la "
           "prudence en attendant des confirmations officielles.",
           "Nous suivrons l’évolution de la situation et mettrons cet article à jour dès que de nouvelles "
           "informations seront disponibles."],
    "en": ["Reactions poured in throughout the day, while analysts urged caution pending official "
           "confirmation.",
           "We will keep following the situation and update this article as soon as new information "
           "becomes available."],
}
FARM_TITLES = {
    "fr": "Ce que l’on sait vraiment : {short}",
    "en": "What we know so far: {short}",
}
PREFIXES = {"fr": ["EN DIRECT - ", "VIDÉO. ", "INFO FRANCEINFO. ", "DIRECT. "],
            "en": ["UPDATE: ", "LIVE: ", "BREAKING: ", "EXCLUSIVE: "]}
EN_WORDS = re.compile(r"\b(the|and|of|to|in|on|after|with|as|says)\b", re.I)
FR_WORDS = re.compile(r"\b(le|la|les|des|du|une|et|sur|dans|pour|selon)\b", re.I)


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:70]


def _domain(source: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _slug(source)) + ".example"


def _language(title: str, summary: str, default: str) -> str:
    text = f"{title} {summary}"
    if re.search(r"\b(los|las|por|según|muertos)\b", text):
        return "es"
    en, fr = len(EN_WORDS.findall(text)), len(FR_WORDS.findall(text))
    return "en" if en > fr else "fr" if fr > en else default


def _plain_quotes(text: str) -> str:
    return text.replace("’", "'").replace("« ", '"').replace(" »", '"').replace("“", '"').replace("”", '"')


def _edit_headline(title: str, lang: str, rng: random.Random) -> str:
    """A publisher's small headline edit: punctuation and minor words, never names/numbers."""
    edits = [
        lambda t: t.replace(" : ", " – ", 1) if " : " in t else t + (" : ce que l’on sait" if lang == "fr"
                                                                      else ", reports say"),
        lambda t: t.replace(", ", " ; ", 1) if ", " in t else t.rstrip(".") + ".",
        lambda t: re.sub(r"^(\w+)", lambda m: m.group(1).upper(), t, count=1),
    ]
    return rng.choice(edits)(title)


def _stable_fraction(key: str) -> float:
    return int(hashlib.blake2b(key.encode(), digest_size=4).hexdigest(), 16) / 0xFFFFFFFF


def build() -> list[dict]:
    rng = random.Random(20241021)
    records: list[dict] = []
    counter = 0

    def add(**rec: object) -> dict:
        nonlocal counter
        counter += 1
        rec.setdefault("related", [])
        rec.setdefault("is_google_news", False)
        rec["id"] = f"a{counter:04d}"
        records.append(rec)
        return rec

    for story in STORIES:
        t0 = BASE + story["day"] * 86400 + story["hour"] * 3600
        originals = []
        for n, (source, title, summary) in enumerate(story["pieces"]):
            lang = _language(title, summary, story["lang"])
            published = t0 + n * rng.randint(20, 150) * 60
            url = f"https://www.{_domain(source)}/{story['id']}/{_slug(title)}"
            originals.append(add(
                feed=f"{source} - une", source=source, url=url, title=title, summary=summary,
                published=published, language=lang, story=story.get("story", story["id"]),
                hard=story.get("hard", ""),
                dup_group=f"{story['id']}#{n}",
            ))
        for n, orig in enumerate(originals):
            _copies(add, rng, story, orig, originals, n)
    records.sort(key=lambda r: (r["published"], r["id"]))
    return records


def _copies(add, rng: random.Random, story: dict, orig: dict, originals: list[dict], n: int) -> None:
    lang = "fr" if orig["language"] == "fr" else "en"
    common = {"story": orig["story"], "hard": orig["hard"], "dup_group": orig["dup_group"],
              "language": orig["language"]}
    title, summary, source, t = orig["title"], orig["summary"], orig["source"], orig["published"]
    gid = hashlib.blake2b(orig["url"].encode(), digest_size=12).hexdigest()
    # Google News: a search-feed item, and for the first piece a topic-feed item with related coverage.
    if rng.random() < 0.8:
        keep_suffix = rng.random() < 0.5
        add(feed=f"Google News {lang}", source=source, is_google_news=True,
            url=f"https://news.google.com/rss/articles/CBMi{gid}",
            title=f"{title} - {source}" if keep_suffix else title, summary="",
            published=t + rng.randint(5, 60) * 60, **common)
    # Topic feeds carry only the top stories: about half the stories get a related-coverage item.
    if n == 0 and len(originals) > 1 and _stable_fraction(story["id"]) < 0.5:
        related = [{"title": o["title"], "url": f"https://news.google.com/rss/articles/CBMi{o['id']}x",
                    "source": o["source"]} for o in originals[1:]]
        add(feed=f"Google News topic {lang}", source=source, is_google_news=True,
            url=f"https://news.google.com/rss/articles/CBMi{gid}t", title=title, summary="",
            related=related, published=t + rng.randint(30, 120) * 60, **common)
    if rng.random() < 0.45:
        outlet = rng.choice(SYNDICATORS[lang])
        add(feed=f"{outlet} - fil", source=outlet, url=f"https://www.{_domain(outlet)}/wire/{_slug(title)}",
            title=_plain_quotes(title), summary=summary, published=t + rng.randint(10, 90) * 60, **common)
    if rng.random() < 0.4 or (story["id"] == "nk-kursk" and n == 0):
        farm = rng.choice(FARMS[lang])
        body = (f"{rng.choice(FARM_OPENERS[lang])}\n\n\n\nAjouter\nArticle ajouté\n\n\n"
                f"Téléchargez le PDF\n\n{summary}\n\n" + " ".join(FARM_EXTRA[lang])
                + "\n\nFor Latest Updates Follow us on Google News")
        farm_title = _plain_quotes(title)
        if story["id"] == "nk-kursk" and n == 0:
            farm, body = "News Day FR", SEED
        elif rng.random() < 0.4:
            farm_title = FARM_TITLES[lang].format(short=" ".join(title.split()[:5]).rstrip(" :,"))
        add(feed=f"{farm} rss", source=farm, url=f"https://{_domain(farm)}/{rng.randint(10000, 99999)}",
            title=farm_title, summary=body, published=t + rng.randint(2, 10) * 3600, **common)
    if rng.random() < 0.35 and len(summary.split()) > 20:
        words = summary.split()
        cut = " ".join(words[: int(len(words) * rng.uniform(0.55, 0.75))]) + " […]"
        add(feed="NewsNow aggregator", source="NewsNow", url=f"https://www.newsnow.example/a/{gid}",
            title=title, summary=cut, published=t + rng.randint(15, 180) * 60, **common)
    if rng.random() < 0.35:
        section = "à la une" if lang == "fr" else "top stories"
        add(feed=f"{source} - {section}", source=source, url=orig["url"],
            title=rng.choice(PREFIXES[lang]) + title, summary=summary, published=t, **common)
    if rng.random() < 0.3:
        add(feed=f"{source} - mobile", source=source, url=orig["url"] + "/amp",
            title=rng.choice(PREFIXES[lang]) + _plain_quotes(title).upper() if rng.random() < 0.3
            else rng.choice(PREFIXES[lang]) + title,
            summary=summary, published=t + rng.randint(1, 30) * 60, **common)
    if rng.random() < 0.25 and len(summary.split()) > 20:
        # Syndicated with the headline trimmed and the summary cut: no layer sees it whole.
        outlet = rng.choice(SYNDICATORS[lang])
        words = summary.split()
        add(feed=f"{outlet} - flash", source=outlet, url=f"https://www.{_domain(outlet)}/flash/{gid}",
            title=_edit_headline(title, lang, rng), summary=" ".join(words[: int(len(words) * 0.7)]) + "…",
            published=t + rng.randint(20, 200) * 60, **common)
    if rng.random() < 0.3:
        add(feed=f"{source} - une", source=source, url=orig["url"] + "-maj",
            title=_edit_headline(title, lang, rng), summary=summary,
            published=t + rng.randint(30, 240) * 60, **common)


def main() -> int:
    records = build()
    out = HERE / "corpus.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    stories = {r["story"] for r in records}
    groups = {r["dup_group"] for r in records}
    langs = sorted({r["language"] for r in records})
    print(f"{out}: {len(records)} articles, {len(stories)} stories, {len(groups)} originals, {langs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
