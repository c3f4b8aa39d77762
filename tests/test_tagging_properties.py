"""Properties of the normaliser and matcher over arbitrary text (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import TagConfig
from bot.pipeline.tagging import Tagger
from bot.pipeline.tagging.normalize import normalize_article

LETTERS = st.characters(categories=("Lu", "Ll"))
WORD = st.text(LETTERS, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_original_and_folded_have_the_same_length(title: str, summary: str) -> None:
    original, folded = normalize_article(title, summary)
    assert len(original) == len(folded)
    for part in (title, summary):                  # words are one space apart within a part
        assert "  " not in normalize_article(part, "")[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=3), st.lists(WORD, max_size=4), st.lists(WORD, max_size=4),
       st.sampled_from([" ", "-", "’", " « ", ", "]))
def test_a_keyword_written_in_a_text_is_found(
    keyword_words: list[str], before: list[str], after: list[str], joiner: str
) -> None:
    keyword = " ".join(keyword_words)
    tagger = Tagger.from_config((TagConfig("t", {"en": "t"}, (keyword,)),))
    rest = " ".join(keyword_words[1:] + after)
    text = joiner.join([*before, keyword_words[0]]) + " " + rest
    assert "t" in tagger.tag(text, "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_tagging_never_fails(text: str) -> None:
    tagger = Tagger.from_config((TagConfig("t", {"en": "t"}, ("OTAN", "Corée du Nord", "Iran*")),))
    result = tagger.tag(text, text)
    assert set(result) <= {"t"}
