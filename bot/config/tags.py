"""Reader for the [tags.<id>] sections: the keyword taxonomy the tagger compiles."""

from __future__ import annotations

from bot.config.core import is_tag_slug
from bot.config.models import TagConfig
from bot.config.schema import Table
from bot.pipeline.tagging.matcher import tag_problems


def _read_labels(table: Table, tag_id: str) -> dict[str, str]:
    raw = table.raw_value("label")
    if raw is None:
        return {"en": tag_id}
    if isinstance(raw, str):
        return {"en": raw, "fr": raw}
    if isinstance(raw, dict) and raw and all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in raw.items()
    ):
        return dict(raw)
    table.error("label", "must be a string or a table like { fr = \"...\", en = \"...\" }")
    return {"en": tag_id}


def read_tag(tag_id: str, table: Table) -> TagConfig:
    if not is_tag_slug(tag_id):
        table.error("", "tag id must be lower-case words joined by '-' (like north-korea)")
    labels = _read_labels(table, tag_id)
    keywords = table.str_list("keywords")
    if not keywords:
        table.error("keywords", "must list at least one keyword")
    exclude = table.str_list("exclude")
    min_mentions = table.int("min_mentions", 1, low=1, high=100)
    priority = table.bool("priority", False)
    table.finish()
    tag = TagConfig(
        id=tag_id, labels=labels, keywords=tuple(keywords), exclude=tuple(exclude),
        min_mentions=min_mentions, priority=priority,
    )
    # Malformed keywords and keywords the tag's own excludes always cancel: the same rules the
    # tagger compiles, so `newsbot check` reports exactly what would never match.
    for key, message in tag_problems(tag):
        table.error(key, message)
    return tag


def read_tags(table: Table) -> tuple[TagConfig, ...]:
    tags = []
    for tag_id in list(table.raw):
        tags.append(read_tag(tag_id, table.table(tag_id)))
    table.finish()
    return tuple(tags)
