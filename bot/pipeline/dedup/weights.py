"""Fitted by ``bench/fit_dedup.py --write`` (do not edit by hand; re-run the script)."""

WINDOW_HOURS = 72
INTERCEPT = -1.8646
THRESHOLD = 0.60
WEIGHTS = {
    "title_story": 2.7140,
    "title_centroid": 0.6432,
    "title_mean": 5.0512,
    "title_top2": 0.0000,
    "core_in_doc": 1.8101,
    "doc_in_story": 0.0000,
    "key_shared": 2.0294,
    "text_centroid": 4.0401,
    "has_text": -1.5938,
    "rare_missing": 0.0000,
    "story_rare_missing": -0.4907,
    "distinct_disagree": 0.0000,
    "templated": -10.0000,
    "names_shared": 2.9189,
    "names_conflict": -10.0000,
    "numbers_shared": 0.0000,
    "numbers_conflict": -0.9857,
    "countries_conflict": -5.1582,
    "tags": 1.4984,
    "same_source": -2.4772,
    "gap": -1.1545,
    "related": 10.0000,
}
