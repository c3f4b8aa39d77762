"""Fitted by ``bench/fit_dedup.py`` (do not edit by hand; re-run the script)."""

WINDOW_HOURS = 36.0
INTERCEPT = -4.0
THRESHOLD = 0.5
WEIGHTS = {
    "title_story": 0.0,
    "title_centroid": 6.0,
    "title_mean": 2.0,
    "title_top2": 0.0,
    "core_in_doc": 0.0,
    "doc_in_story": 0.0,
    "key_shared": 0.0,
    "text_centroid": 4.0,
    "has_text": -1.0,
    "rare_missing": -2.0,
    "story_rare_missing": -1.0,
    "names_shared": 1.0,
    "names_conflict": -2.0,
    "numbers_shared": 0.5,
    "numbers_conflict": -1.0,
    "countries_conflict": -1.0,
    "tags": 0.5,
    "same_source": -0.5,
    "gap": -0.3,
    "related": 10.0,
}
