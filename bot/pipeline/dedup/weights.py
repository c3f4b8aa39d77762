"""Fitted by ``bench/fit_dedup.py --write`` (do not edit by hand; re-run the script)."""

WINDOW_HOURS = 72
INTERCEPT = -2.7255
THRESHOLD = 0.60
WEIGHTS = {
    "title_story": 5.0368,
    "title_centroid": 0.0000,
    "title_mean": 5.4126,
    "title_top2": 0.0000,
    "core_in_doc": 1.3876,
    "doc_in_story": 0.0000,
    "key_shared": 1.7177,
    "text_centroid": 4.1687,
    "has_text": -1.2079,
    "rare_missing": 0.0000,
    "story_rare_missing": -0.2076,
    "distinct_disagree": 0.0000,
    "templated": -10.0000,
    "names_shared": 2.7423,
    "names_conflict": -10.0000,
    "numbers_shared": 0.0000,
    "numbers_conflict": -1.0186,
    "countries_conflict": -5.8767,
    "tags": 1.4572,
    "same_source": -2.7164,
    "gap": -0.9305,
    "related": 10.0000,
}
