"""What landing drops may look like: input field aliases per platform export, label spellings, and the
quarantine reasons. (The canonical schema they are turned into is ``ugc.lake.POST_SCHEMA``.)"""

from __future__ import annotations

# Label spellings seen in landing drops, mapped to the canonical three classes.
LABEL_ALIASES = {
    "negative": "negative", "neg": "negative", "-1": "negative", "负面": "negative",
    "neutral": "neutral", "neu": "neutral", "0": "neutral", "中性": "neutral",
    "positive": "positive", "pos": "positive", "1": "positive", "正面": "positive",
}

# Canonical field -> accepted input names, first match wins. Platforms' exports differ.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "post_id": ("post_id", "id", "mid", "comment_id"),
    "platform": ("platform", "source", "site"),
    "author_id": ("author_id", "user_id", "uid", "author", "user"),
    "text": ("text", "content", "body", "message"),
    "created_at": ("created_at", "timestamp", "ts", "time", "created_time"),
    "parent_id": ("parent_id", "reply_to", "in_reply_to"),
    "label": ("label", "sentiment"),
    "label_confidence": ("label_confidence", "confidence", "label_score"),
}
REQUIRED = ("post_id", "platform", "author_id", "text", "created_at")
# Input name (normalised) -> canonical field.
ALIAS_OF = {a: canon for canon, aliases in FIELD_ALIASES.items() for a in aliases}
# Identifiers are single-line tokens of bounded length; anything else is not an id (a swallowed CSV record).
MAX_ID_CHARS = 256


def norm_key(name: str) -> str:
    """Field names as exports spell them: " Post_ID " and "\ufeffpost_id" are "post_id"."""
    return name.strip().lstrip("\ufeff").strip().lower()


# Quarantine reasons (stable strings: dashboards and tests key on them).
R_MALFORMED_JSON = "malformed_json"
R_NOT_OBJECT = "not_a_json_object"
R_INVALID_UTF8 = "invalid_utf8"
R_MALFORMED_CSV = "malformed_csv"
R_MISSING = "missing_field"  # suffixed with ':<field>'
R_EMPTY_TEXT = "empty_text"
R_TOO_LONG = "text_too_long"
R_BAD_TS = "unparseable_timestamp"
R_OUT_OF_DAY = "created_at_outside_partition_day"
R_BAD_LABEL = "invalid_label"
R_BAD_CONFIDENCE = "invalid_label_confidence"  # not a number in [0, 1]
R_DUP_ID = "duplicate_post_id"
R_DUP_TEXT = "duplicate_text"
R_UNREADABLE = "unreadable_file"  # suffixed with ':<error type>'
R_TOO_DEEP = "json_too_deep"
R_WRONG_TYPE = "wrong_type"  # suffixed with ':<field>': a list/object/bool/number where text belongs
R_AMBIGUOUS = "ambiguous_field"  # suffixed with ':<field>': two columns/keys spell the same field differently
R_INVALID_VALUE = "invalid_value"  # suffixed with ':<field>': an id with a line break, control char or 256+ chars
R_READER_CRASHED = "reader_crashed"  # a native reader died on the file: quarantined whole, the day goes on
R_FILE_TOO_LARGE = "file_too_large"  # decompressed beyond the configured limit (a decompression bomb)
R_UNSUPPORTED = "unsupported_file_type"
