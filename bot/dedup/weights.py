"""Fitted by ``bench/fit_dedup.py --write`` (do not edit by hand; re-run the script)."""

WINDOW_HOURS = 72
INTERCEPT = -1.3461
THRESHOLD = 0.70
WEIGHTS = {
    "title_story": 2.3788,
    "title_centroid": 1.6266,
    "title_mean": 4.0109,
    "title_top2": 0.0000,
    "core_in_doc": 0.3735,
    "doc_in_story": 0.0000,
    "key_shared": 2.7323,
    "text_centroid": 4.3859,
    "has_text": -0.8240,
    "rare_missing": 0.0000,
    "story_rare_missing": -1.3115,
    "distinct_disagree": 0.0000,
    "templated": -10.0000,
    "names_shared": 3.0064,
    "names_conflict": -0.8168,
    "numbers_shared": 0.0000,
    "numbers_conflict": -0.9666,
    "countries_conflict": -3.2180,
    "tags": 1.2701,
    "same_source": -2.3287,
    "gap": -1.1848,
    "related": 10.0000,
}
