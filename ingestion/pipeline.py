"""The ingest stage: one landing drop -> one clean, deduped lake partition + quarantine.

``ingest_day(config, landing_uri)`` runs the same from pytest, ``ugc ingest`` and Airflow.
Every input row ends up either in the partition or in quarantine with a reason:
``input_rows == rows + sum(quarantined.values())`` holds for every run.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import clean, sources
from ingestion import schema as S
from ingestion.config import IngestConfig
from ugc import lake


def _first_reason(reason: np.ndarray, mask, label: str) -> None:
    m = np.asarray(pc.fill_null(mask, False)) if not isinstance(mask, np.ndarray) else mask
    reason[m & (reason == None)] = label  # noqa: E711 (elementwise on an object array)


def _first_occurrence(keys: np.ndarray) -> np.ndarray:
    """Mask of rows that are the first with their key (rows are already in priority order)."""
    _, first = np.unique(keys, return_index=True)
    keep = np.zeros(len(keys), dtype=bool)
    keep[first] = True
    return keep


def _prior_keys(cfg: IngestConfig) -> tuple[pa.Array, np.ndarray]:
    """(platform\\x1fpost_id keys, text hashes) of the partitions in the lookback window."""
    lo = cfg.day - timedelta(days=cfg.dedupe_lookback_days)
    days = [d for d in lake.list_partitions(cfg.lake_uri) if lo <= d < cfg.day]
    ids, hashes = [pa.array([], pa.string())], [np.zeros(0, np.uint64)]
    for d in days:
        t = lake.read_partition(lake.partition_uri(cfg.lake_uri, d), ["platform", "post_id", "text_hash"])
        ids.append(pc.binary_join_element_wise(t["platform"], t["post_id"], "\x1f").combine_chunks())
        hashes.append(t["text_hash"].to_numpy())
    return pa.concat_arrays(ids), np.concatenate(hashes)


_PREPARED = pa.schema(
    [f.with_nullable(True) for f in lake.POST_SCHEMA if f.name != "author_id"]
    + [pa.field("author_raw", pa.string()), pa.field("_row", pa.int64()), pa.field("_reason", pa.string())]
)


def _prepare(uri: str, cfg: IngestConfig) -> tuple[pa.Table, list[dict], int]:
    """Read and clean one landing file; every row gets its first failed check (or null) in _reason.

    Runs in a worker thread: the Arrow kernels release the GIL, so files clean in parallel.
    """
    batch = sources.read_file(uri)
    raw, n = batch.table, batch.table.num_rows
    reason = np.full(n, None, dtype=object)
    for f in S.REQUIRED:
        col = raw[f]
        blank = pc.is_null(col) if f == "text" else pc.or_(pc.is_null(col), pc.equal(pc.utf8_trim_whitespace(col), ""))
        _first_reason(reason, blank, f"{S.R_MISSING}:{f}")
    label, bad_label = clean.normalize_labels(raw["label"].combine_chunks(), S.LABEL_ALIASES)
    _first_reason(reason, bad_label, S.R_BAD_LABEL)
    _first_reason(reason, pc.greater(pc.binary_length(raw["text"]), cfg.max_text_bytes), S.R_TOO_LONG)
    text = clean.normalize_text(pc.fill_null(raw["text"], "").combine_chunks())
    _first_reason(reason, pc.equal(pc.utf8_length(text), 0), S.R_EMPTY_TEXT)
    created = clean.parse_timestamps(raw["created_at"])
    _first_reason(reason, pc.is_null(created), S.R_BAD_TS)
    start = datetime(cfg.day.year, cfg.day.month, cfg.day.day, tzinfo=UTC)
    ts = pa.timestamp("us", "UTC")
    outside = pc.or_(pc.less(created, pa.scalar(start, ts)),
                     pc.greater_equal(created, pa.scalar(start + timedelta(days=1), ts)))
    _first_reason(reason, outside, S.R_OUT_OF_DAY)
    text, pii = clean.redact_pii(text)
    table = pa.table({
        "post_id": pc.utf8_trim_whitespace(raw["post_id"]),
        "platform": pc.utf8_lower(pc.utf8_trim_whitespace(raw["platform"])),
        "author_raw": pc.utf8_trim_whitespace(raw["author_id"]),
        "text": text,
        "lang": clean.detect_lang(text, pii),
        "created_at": created,
        "parent_id": _blank_to_null(raw["parent_id"]),
        "label": label,
        "source_file": pa.array([uri] * n, pa.string()),
        "text_hash": clean.text_hash(text),
        "pii_count": pii,
        "_row": raw["_row"],
        "_reason": pa.array(reason, pa.string()),
    })
    return table.select(_PREPARED.names).cast(_PREPARED), batch.quarantine, n + len(batch.quarantine)


def _read_all(landing_uri: str, cfg: IngestConfig) -> tuple[pa.Table, list[dict], list[dict]]:
    files, unknown = sources.list_landing(landing_uri)
    if not files and not unknown:
        raise FileNotFoundError(f"no landing files under {landing_uri}")
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        results = list(pool.map(lambda u: _prepare(u, cfg), files))
    bad = [sources.quarantine_record("unsupported_file_type", u, 0, u) for u in unknown]
    for _, q, _ in results:
        bad += q
    inputs = [{"uri": u, "rows": r[2]} for u, r in zip(files, results, strict=True)]
    inputs += [{"uri": u, "rows": 1} for u in unknown]
    if results:
        table = pa.concat_tables([r[0] for r in results])
    else:
        table = _PREPARED.empty_table()
    return table, bad, inputs


def ingest_day(cfg: IngestConfig, landing_uri: str) -> dict:
    """Ingest one landing drop into ``{lake}/posts/dt={day}``. Returns a small, XCom-safe summary."""
    table, quarantined, inputs = _read_all(landing_uri, cfg)
    reason = table["_reason"].to_numpy(zero_copy_only=False).astype(object)

    # Dedupe among the rows that passed every check, earliest post (then file, row) first.
    ok = np.flatnonzero(pc.is_null(table["_reason"]).to_numpy(zero_copy_only=False))
    files = pc.dictionary_encode(table["source_file"]).combine_chunks().indices.to_numpy()
    created_us = table["created_at"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    ok = ok[np.lexsort((table["_row"].to_numpy()[ok], files[ok], created_us[ok]))]
    cand = table.take(pa.array(ok, pa.int64()))
    key = pc.binary_join_element_wise(cand["platform"], cand["post_id"], "\x1f").combine_chunks()
    prior_ids, prior_hashes = _prior_keys(cfg)
    dup_id = ~_first_occurrence(pc.dictionary_encode(key).indices.to_numpy()) | \
        pc.is_in(key, value_set=prior_ids).to_numpy(zero_copy_only=False)
    h = cand["text_hash"].to_numpy()
    long_enough = pc.greater_equal(pc.utf8_length(cand["text"]), cfg.text_dedupe_min_chars).to_numpy()
    text_cand = ~dup_id & long_enough
    first = np.ones(len(ok), dtype=bool)
    first[text_cand] = _first_occurrence(h[text_cand])
    dup_text = text_cand & (~first | np.isin(h, prior_hashes))
    reason[ok[dup_id]] = S.R_DUP_ID
    reason[ok[dup_text]] = S.R_DUP_TEXT

    # Output order = dedupe priority order (created_at, file, row): deterministic for reruns.
    kept = cand.filter(pa.array(~(dup_id | dup_text)))
    out = kept.append_column("author_id", clean.hash_ids(kept["author_raw"].combine_chunks(), cfg.author_salt))
    out = out.select(list(lake.POST_COLUMNS))

    quarantined += _row_quarantine(table, reason)
    counts = Counter(r["reason"] for r in quarantined)
    qa_uri = lake.write_quarantine(cfg.lake_uri, cfg.day, quarantined)
    summary = {
        "day": cfg.day.isoformat(),
        "input_rows": sum(i["rows"] for i in inputs),
        "rows": out.num_rows,
        "quarantined": dict(sorted(counts.items())),
        "quarantined_total": sum(counts.values()),
        "pii_redacted": int(pc.sum(out["pii_count"]).as_py() or 0),
        "lang": {v["values"]: v["counts"] for v in pc.value_counts(out["lang"]).to_pylist()},
        "quarantine_uri": qa_uri,
        "config": cfg.to_dict(),  # the salt is excluded: it must never reach the lake
    }
    manifest = lake.write_partition(cfg.lake_uri, cfg.day, out, {"ingest": summary, "inputs": inputs})
    summary["partition_uri"] = lake.partition_uri(cfg.lake_uri, cfg.day)
    summary["snapshot_id"] = manifest["snapshot_id"]
    return summary


def _blank_to_null(col) -> pa.Array:
    c = pc.utf8_trim_whitespace(col).combine_chunks() if isinstance(col, pa.ChunkedArray) else pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(c, ""), None, c)


def _row_quarantine(raw: pa.Table, reason: np.ndarray) -> list[dict]:
    """Quarantine records (with the original input) for rows that parsed but failed a check."""
    bad = np.flatnonzero(reason != None)  # noqa: E711
    if len(bad) == 0:
        return []
    files = raw["source_file"].take(pa.array(bad)).to_pylist()
    rows = raw["_row"].take(pa.array(bad)).to_pylist()
    by_file: dict[str, list[int]] = {}
    for f, r in zip(files, rows, strict=True):
        by_file.setdefault(f, []).append(r)
    originals = {f: sources.raw_rows(f, rs) for f, rs in by_file.items()}
    return [sources.quarantine_record(reason[i], f, r, originals[f][r])
            for i, f, r in zip(bad, files, rows, strict=True)]
