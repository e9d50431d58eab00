"""The ingest stage: one landing drop -> one clean, deduped lake partition + quarantine.

``ingest_day(config, landing_uri)`` runs the same from pytest, ``ugc ingest`` and Airflow.
Every input row ends up either in the partition or in quarantine with a reason:
``input_rows == rows + sum(quarantined.values())`` holds for every run.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import clean, isolation, sources
from ingestion import schema as S
from ingestion.config import IngestConfig
from ingestion.prepare import PREPARED, prepare
from ingestion.rawtable import quarantine_record
from ugc import lake


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


def _read_all(landing_uri: str, cfg: IngestConfig) -> tuple[pa.Table, list[dict], list[dict]]:
    files, unknown = sources.list_landing(landing_uri)
    if not files and not unknown:
        raise FileNotFoundError(f"no landing files under {landing_uri}")
    units = sources.plan(files, cfg.workers)
    order = sorted(range(len(units)), key=lambda j: -units[j][2])  # largest first: no big unit starts last
    done = isolation.run(prepare, [(units[j][0], cfg, units[j][1]) for j in order], cfg.workers,
                         cfg.isolation == "process")
    by_unit = dict(zip(order, done, strict=True))
    results: dict[str, list] = {u: [] for u in files}
    for j, (uri, _, _) in enumerate(units):  # units list each file's slices in order
        results[uri].append(by_unit[j])
    # A CSV slice that did not start where the record before it ended (a quoted line break ran on past its
    # predecessor) is read again from there, with the slices after it, as one part.
    again = {uri: at for uri, parts in results.items()
             if not any(r is isolation.CRASHED for r in parts) and (at := _misread(parts)) is not None}
    redo = isolation.run(prepare, [(uri, cfg, (j, len(results[uri]), byte)) for uri, (j, byte) in again.items()],
                         cfg.workers, cfg.isolation == "process")
    for (uri, (j, _)), r in zip(again.items(), redo, strict=True):
        results[uri][j:] = [r]
    bad = [quarantine_record(S.R_UNSUPPORTED, u, 0, u) for u in unknown]
    tables, inputs = [], []
    for uri, parts in results.items():
        if any(r is isolation.CRASHED for r in parts):  # the reader died on this file: it stays in landing
            bad.append(quarantine_record(S.R_READER_CRASHED, uri, 0, uri))
            inputs.append({"uri": uri, "rows": 1})
            continue
        tables += [r[0] for r in parts]
        bad += [q for r in parts for q in r[1]]
        inputs.append({"uri": uri, "rows": sum(r[2] for r in parts)})
    inputs += [{"uri": u, "rows": 1} for u in unknown]
    return (pa.concat_tables(tables) if tables else PREPARED.empty_table()), bad, inputs


def _misread(parts: list) -> tuple[int, int] | None:
    """(the first CSV slice that started elsewhere than where the record before it ended, that byte), or None."""
    for j in range(1, len(parts)):
        if parts[j][3] is not None and parts[j - 1][3] is not None and parts[j][3][0] != parts[j - 1][3][1]:
            return j, parts[j - 1][3][1]
    return None


def ingest_day(cfg: IngestConfig, landing_uri: str) -> dict:
    """Ingest one landing drop into ``{lake}/posts/dt={day}``. Returns a small, XCom-safe summary."""
    table, quarantined, inputs = _read_all(landing_uri, cfg)
    reason = table["_reason"].to_numpy(zero_copy_only=False).astype(object)

    # Dedupe among the rows that passed every check, earliest post (then file, row) first.
    ok = np.flatnonzero(pc.is_null(table["_reason"]).to_numpy(zero_copy_only=False))
    files = pc.dictionary_encode(table["source_file"]).combine_chunks().indices.to_numpy()
    created_us = table["created_at"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    ok = ok[np.lexsort((table["_row"].to_numpy()[ok], files[ok], created_us[ok]))]
    # Only the key columns are gathered here; the rows kept are gathered once, at the end (texts are most bytes).
    cand = table.select(["platform", "post_id", "text_hash", "parent_id"]).take(pa.array(ok, pa.int64()))
    key = pc.binary_join_element_wise(cand["platform"], cand["post_id"], "\x1f").combine_chunks()
    prior_ids, prior_hashes = _prior_keys(cfg)
    dup_id = ~_first_occurrence(pc.dictionary_encode(key).indices.to_numpy()) | \
        pc.is_in(key, value_set=prior_ids).to_numpy(zero_copy_only=False)
    h = cand["text_hash"].to_numpy()
    is_reply = pc.is_valid(cand["parent_id"]).to_numpy(zero_copy_only=False)
    min_chars = np.where(is_reply, cfg.reply_dedupe_min_chars, cfg.text_dedupe_min_chars)
    long_enough = pc.utf8_length(table["text"]).to_numpy()[ok] >= min_chars
    text_cand = ~dup_id & long_enough
    # "First" among every post, not only the candidates: a new post copying a short reply is still a copy.
    first = np.ones(len(ok), dtype=bool)
    first[~dup_id] = _first_occurrence(h[~dup_id])
    dup_text = text_cand & (~first | np.isin(h, prior_hashes))
    reason[ok[dup_id]] = S.R_DUP_ID
    reason[ok[dup_text]] = S.R_DUP_TEXT

    # Output order = dedupe priority order (created_at, file, row): deterministic for reruns.
    kept = table.take(pa.array(ok[~(dup_id | dup_text)], pa.int64()))
    out = kept.append_column("author_id", clean.hash_ids(kept["author_raw"].combine_chunks(), cfg.author_salt))
    out = out.select(list(lake.POST_COLUMNS))

    quarantined += _row_quarantine(table, reason, cfg.max_file_bytes)
    counts = Counter(r["reason"] for r in quarantined)
    qa_uri = lake.quarantine_uri(cfg.lake_uri, cfg.day, lake.quarantine_body(quarantined)[0])
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
    extra = {"ingest": summary, "inputs": inputs, "provenance": sources.provenance(landing_uri)}
    manifest = lake.write_partition(cfg.lake_uri, cfg.day, out, extra, quarantined)
    summary["partition_uri"] = lake.partition_uri(cfg.lake_uri, cfg.day)
    summary["snapshot_id"] = manifest["snapshot_id"]
    return summary


def _row_quarantine(raw: pa.Table, reason: np.ndarray, max_bytes: int) -> list[dict]:
    """Quarantine records, with the exact original input, for rows that parsed but failed a check."""
    bad = np.flatnonzero(reason != None)  # noqa: E711
    if len(bad) == 0:
        return []
    sub = raw.select(["source_file", "_row", "_off", "_len"]).take(pa.array(bad)).to_pylist()
    by_file: dict[str, list[tuple]] = {}
    for r in sub:
        by_file.setdefault(r["source_file"], []).append((r["_row"], r["_off"], r["_len"]))
    originals = {f: sources.raw_records(f, rows, max_bytes) for f, rows in by_file.items()}
    return [quarantine_record(reason[i], r["source_file"], r["_row"], originals[r["source_file"]][r["_row"]])
            for i, r in zip(bad, sub, strict=True)]
