"""One landing file -> cleaned rows, each with the first check it failed (or none) in ``_reason``.

Runs in a child process per file (``ingestion.isolation``): everything here is vectorised Arrow/numpy work,
so files clean in parallel and a reader that dies takes only its own file with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import clean, sources
from ingestion import schema as S
from ingestion.config import IngestConfig
from ugc import lake

PREPARED = pa.schema(
    [f.with_nullable(True) for f in lake.POST_SCHEMA if f.name != "author_id"]
    + [pa.field("author_raw", pa.string()), pa.field("_row", pa.int64()), pa.field("_reason", pa.string()),
       pa.field("_off", pa.int64()), pa.field("_len", pa.int64())]
)


def _first_reason(reason: np.ndarray, mask, label: str) -> None:
    m = np.asarray(pc.fill_null(mask, False)) if not isinstance(mask, np.ndarray) else mask
    reason[m & (reason == None)] = label  # noqa: E711 (elementwise on an object array)


def _blank(col) -> pa.Array:
    """Null, empty or only whitespace (null-aware: a null must count as blank, not as unknown)."""
    return pc.fill_null(pc.or_kleene(pc.is_null(col), pc.equal(pc.utf8_trim_whitespace(col), "")), True)


def _bad_id(col) -> pa.Array:
    """A line break, a control character or 256+ characters: not an identifier (a swallowed record, a dump)."""
    return pc.fill_null(pc.or_(pc.match_substring_regex(col, r"[\x00-\x1f\x7f\x{2028}\x{2029}]"),
                               pc.greater(pc.utf8_length(col), S.MAX_ID_CHARS)), False)


def _naive_tz(platform: pa.Array, zones: dict[str, str]) -> pa.Array | None:
    if not zones:
        return None
    key = pc.utf8_lower(pc.utf8_trim_whitespace(platform))
    enc = pc.dictionary_encode(key)
    mapped = pa.array([zones.get(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pa.DictionaryArray.from_arrays(enc.indices, mapped).dictionary_decode()


def prepare(args: tuple[str, IngestConfig] | tuple[str, IngestConfig, tuple[int, ...]]) -> tuple:
    """(cleaned rows, quarantine records of rows that did not parse, input rows, a CSV slice's span) of one
    landing file: ``(uri, config)``, or ``(uri, config, part)`` for a part of it (ingestion.sources.read_file)."""
    uri, cfg, *part = args
    batch = sources.read_file(uri, cfg.max_file_bytes, *part)
    raw, n = {c: batch.table.column(c).combine_chunks() for c in batch.table.column_names}, batch.table.num_rows
    reason = raw["_reason"].to_numpy(zero_copy_only=False).astype(object)
    for f in S.REQUIRED:
        blank = pc.fill_null(pc.is_null(raw[f]), True) if f == "text" else _blank(raw[f])
        _first_reason(reason, blank, f"{S.R_MISSING}:{f}")
    for f in ("post_id", "platform", "author_id", "parent_id", "created_at"):
        _first_reason(reason, _bad_id(raw[f]), f"{S.R_INVALID_VALUE}:{f}")
    label, bad_label = clean.normalize_labels(raw["label"], S.LABEL_ALIASES)
    _first_reason(reason, bad_label, S.R_BAD_LABEL)
    confidence, bad_confidence = clean.parse_confidence(raw["label_confidence"])
    _first_reason(reason, bad_confidence, S.R_BAD_CONFIDENCE)
    _first_reason(reason, pc.greater(pc.binary_length(raw["text"]), cfg.max_text_bytes), S.R_TOO_LONG)
    # Texts over the limit are quarantined: do not spend cleaning work (or memory) on them.
    text = pc.if_else(pc.fill_null(pc.greater(pc.binary_length(raw["text"]), cfg.max_text_bytes), False), "",
                      pc.fill_null(raw["text"], ""))
    text = clean.normalize_text(text)
    _first_reason(reason, pc.equal(pc.utf8_length(text), 0), S.R_EMPTY_TEXT)
    created = clean.parse_timestamps(raw["created_at"], _naive_tz(raw["platform"], cfg.naive_timezones))
    _first_reason(reason, pc.is_null(created), S.R_BAD_TS)
    start = datetime(cfg.day.year, cfg.day.month, cfg.day.day, tzinfo=UTC)
    ts = pa.timestamp("us", "UTC")
    outside = pc.or_(pc.less(created, pa.scalar(start, ts)),
                     pc.greater_equal(created, pa.scalar(start + timedelta(days=1), ts)))
    _first_reason(reason, outside, S.R_OUT_OF_DAY)
    text, pii = clean.redact_pii(text)
    parent = pc.utf8_trim_whitespace(raw["parent_id"])
    table = pa.table({
        "post_id": pc.utf8_trim_whitespace(raw["post_id"]),
        "platform": pc.utf8_lower(pc.utf8_trim_whitespace(raw["platform"])),
        "author_raw": pc.utf8_trim_whitespace(raw["author_id"]),
        "text": text,
        "lang": clean.detect_lang(text, pii),
        "created_at": created,
        "parent_id": pc.if_else(pc.equal(parent, ""), None, parent),
        "label": label,
        "label_confidence": confidence,
        "source_file": pa.array([uri] * n, pa.string()),
        "text_hash": clean.text_hash(text),
        "pii_count": pii,
        "_row": raw["_row"], "_reason": pa.array(reason, pa.string()), "_off": raw["_off"], "_len": raw["_len"],
    })
    return table.select(PREPARED.names).cast(PREPARED), batch.quarantine, n + len(batch.quarantine), batch.span
