"""CSV and Parquet landing files -> canonical raw string columns, exact and crash-free on any input.

CSV: Python's csv module reads record by record (strict quoting), so every row keeps the exact lines it came
from. Invalid UTF-8 lines are quarantined alone (an invalid header is decoded with replacement characters, not
dropped); CR-only line endings are read as line ends. A stray quote swallows the records after it: a
multi-line record that breaks strict quoting, has the wrong width, a line break in an id or timestamp, or a
continuation line that is a whole record by itself, is quarantined by its first line, and reading resumes on
the line after it.
Two header columns naming one field are ambiguous only in rows where they disagree.

Parquet: each mapped column is converted by type: strings and binary (UTF-8 checked), exact integers and
decimals, timestamps to the microsecond; lists, structs, booleans and numbers where text belongs are a
per-row ``wrong_type``, not a crash.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import csvfast
from ingestion import schema as S
from ingestion.jsonl import NUMERIC_OK
from ingestion.rawtable import RawRows

csv.field_size_limit(min(sys.maxsize, 1 << 26))  # one field may hold a whole (bounded) file, not more


def _decode_lines(data: bytes) -> tuple[list[bytes], list[int]]:
    if b"\n" not in data and b"\r" in data:  # CR-only line ends (classic Mac exports): same byte offsets
        data = data.replace(b"\r", b"\n")
    lines = data.split(b"\n")
    # Each line starts after a newline (numpy: every slice of a file computes this for the whole file).
    offsets = np.concatenate(([0], np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1)).tolist()
    return lines, offsets


def read_csv(source: str, data: bytes, start: int = 0, end: int | None = None) -> RawRows:
    """The records that start on the lines of ``data[start:end]`` (a range of whole lines; the header is always
    line 1). ``rows.span`` is (start, the byte where the next record starts): past ``end`` never, before it when
    the last record may run on past ``end``; the caller then reads again from there (``ingestion.pipeline``)."""
    rows = RawRows(source)
    lines, offsets = _decode_lines(data)
    names = next(csv.reader([lines[0].decode("utf-8", "replace").rstrip("\r")]), [])
    norm = [S.norm_key(n) for n in names]
    # canonical field -> column indexes, most preferred alias first
    columns = {canon: [i for a in aliases for i, n in enumerate(norm) if n == a]
               for canon, aliases in S.FIELD_ALIASES.items()}
    lo = max(1, bisect.bisect_left(offsets, start))
    hi = len(lines) if end is None or end >= len(data) else bisect.bisect_left(offsets, end)
    resume = offsets[hi] if hi < len(lines) else len(data)
    text: dict[int, str] = {}
    for i in range(lo, hi):
        try:
            text[i] = lines[i].decode("utf-8")
        except UnicodeDecodeError:
            rows.reject(S.R_INVALID_UTF8, i + 1, lines[i])
    order = sorted(text)
    fast = csvfast.FastLines(pa.array([text[i] for i in order], pa.string()), [lines[i] for i in order],
                             columns, len(names))
    k = 0
    while k < len(order):
        if fast.simple[k]:  # a run of one-line records: Arrow has read them (ingestion.csvfast)
            k, wrong = fast.take_run(k)
            for w in wrong:  # one line of the wrong width, as the Python reader quarantines it
                rows.reject(S.R_MALFORMED_CSV, order[w] + 1, lines[order[w]])
            continue
        # One csv.reader until a record goes wrong or a run of simple lines starts, then a fresh one.
        reader = csv.reader((text[order[j]] + "\n" for j in range(k, len(order))), strict=True)  # no copy of order[k:]
        base, restart = k, None
        while restart is None:
            at = base + reader.line_num
            if at > base and at < len(order) and fast.simple[at]:
                restart = at
                break
            try:
                fields = next(reader)
            except StopIteration:
                restart = len(order)
                break
            except csv.Error:
                if hi < len(lines) and base + reader.line_num >= len(order):
                    # The input ran out inside this record: it may go on past the slice. Its reading is the
                    # next slice's, from its first line (a genuine error there is found again then).
                    resume, restart = offsets[order[at]], len(order)
                    rows.quarantine = [q for q in rows.quarantine  # its lines' rejections are the next reading's too
                                       if not (q["reason"] == S.R_INVALID_UTF8 and q["row"] > order[at] + 1)]
                    break
                rows.reject(S.R_MALFORMED_CSV, order[at] + 1, lines[order[at]])
                restart = at + 1
                break
            span = order[at:base + reader.line_num]
            if not fields:  # a blank line
                continue
            first, last = span[0], span[-1]
            values, reason = _values(fields, columns, len(names))
            if len(span) > 1 and reason is None and _holds_a_record(span[1:], text, len(names)):
                reason = S.R_MALFORMED_CSV  # a "multi-line text" whose lines are records of their own
            if reason == S.R_MALFORMED_CSV and len(span) > 1:
                # A multi-line record of the wrong width, or with a line break in an id: a stray quote swallowed
                # the lines after it. Quarantine its first line and read on from the next one.
                rows.reject(S.R_MALFORMED_CSV, first + 1, lines[first])
                restart = at + 1
            elif reason == S.R_MALFORMED_CSV:
                rows.reject(reason, first + 1, b"\n".join(lines[i] for i in span))
            else:
                rows.add_record(first + 1, offsets[first], offsets[last] + len(lines[last]) - offsets[first],
                                values, reason)
        k = restart
    fast.add_to(rows, order, lines, offsets)
    rows.span = (start, resume)
    return rows


def _holds_a_record(continuation: list[int], text: dict[int, str], width: int) -> bool:
    for i in continuation:
        try:
            if len(next(csv.reader([text[i]], strict=True), [])) == width:
                return True
        except csv.Error:
            continue
    return False


def _swallowed(values: dict) -> bool:
    return any(values.get(f) and ("\n" in values[f] or "\r" in values[f]) for f in S.FIELD_ALIASES if f != "text")


def _values(fields: list[str], columns: dict[str, list[int]], width: int) -> tuple[dict, str | None]:
    values: dict[str, str | None] = {}
    reason = S.R_MALFORMED_CSV if len(fields) != width else None
    for canon, idx in columns.items():
        present = [fields[i] for i in idx if i < len(fields) and fields[i] != ""]
        if canon == "text" and not present and any(i < len(fields) for i in idx):
            present = [""]  # an empty text cell is a value of its own (empty_text), not an absent field
        values[canon] = present[0] if present else None
        if len(set(present)) > 1 and reason is None:
            reason = f"{S.R_AMBIGUOUS}:{canon}"
    if reason is None and _swallowed(values):
        reason = S.R_MALFORMED_CSV
    return values, reason


def _column(arr: pa.Array, canon: str) -> tuple[pa.Array, list[str | None]]:
    """(string values, per-row reason) of one mapped Parquet column."""
    n, t = len(arr), arr.type
    bad = [None] * n
    valid = pc.is_valid(arr).to_pylist() if n else []

    def flag(reason: str) -> tuple[pa.Array, list]:
        return pa.nulls(n, pa.string()), [reason if v else None for v in valid]

    if pa.types.is_dictionary(t):
        arr, t = arr.dictionary_decode(), t.value_type
    if pa.types.is_null(t):
        return pa.nulls(n, pa.string()), bad
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string()), bad
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        out = []
        for i, b in enumerate(arr.to_pylist()):
            try:
                out.append(None if b is None else b.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(None)
                bad[i] = S.R_INVALID_UTF8
        return pa.array(out, pa.string()), bad
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if canon != "created_at":
            return flag(f"{S.R_WRONG_TYPE}:{canon}")
        if pa.types.is_date(t):
            arr = arr.cast(pa.timestamp("s"))
        # Truncated to the microsecond (the lake's precision); naive timestamps stay naive (source time zone).
        us = arr.cast(pa.timestamp("us", tz=arr.type.tz), safe=False)
        fmt = "%Y-%m-%dT%H:%M:%S%z" if us.type.tz else "%Y-%m-%dT%H:%M:%S"
        return pc.strftime(us, format=fmt), bad
    if canon not in NUMERIC_OK:
        return flag(f"{S.R_WRONG_TYPE}:{canon}")
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return arr.cast(pa.string()), bad
    if pa.types.is_floating(t):
        return pa.array([None if v is None else (str(int(v)) if v == v and v not in (float("inf"), float("-inf"))
                                                 and v.is_integer() else repr(v)) for v in arr.to_pylist()],
                        pa.string()), bad
    return flag(f"{S.R_WRONG_TYPE}:{canon}")


def read_parquet(source: str, data: bytes) -> RawRows:
    import pyarrow.parquet as pq

    t = pq.read_table(io.BytesIO(data))
    rows = RawRows(source)
    n = t.num_rows
    reasons: list[str | None] = [None] * n
    by_norm: dict[str, list[str]] = {}
    for name in t.column_names:
        by_norm.setdefault(S.norm_key(name), []).append(name)
    out = {}
    for canon, aliases in S.FIELD_ALIASES.items():
        col = None
        for a in aliases:
            for name in by_norm.get(a, []):
                values, bad = _column(t.column(name).combine_chunks(), canon)
                reasons = [r or b for r, b in zip(reasons, bad, strict=True)]
                col = values if col is None else pc.coalesce(col, values)
        out[canon] = col if col is not None else pa.nulls(n, pa.string())
        if any(len(by_norm.get(a, [])) > 1 for a in aliases):  # " text " and "text": which one is the text?
            reasons = [r or f"{S.R_AMBIGUOUS}:{canon}" for r in reasons]
    rows.add_table(pa.table(out), list(range(1, n + 1)), [None] * n, [None] * n, pa.array(reasons, pa.string()))
    return rows


def parquet_records(data: bytes, rows: list[int]) -> dict[int, str]:
    """Parquet rows (1-based) as JSON, whatever their types (bytes as hex, decimals and times as text); the
    file is read once for all of them (once per row made a day with many quarantined rows slow)."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    recs = table.take(pa.array([r - 1 for r in rows], pa.int64())).to_pylist() if rows else []
    return {r: json.dumps(rec, ensure_ascii=False, default=lambda v: v.hex() if isinstance(v, bytes) else str(v),
                          sort_keys=True) for r, rec in zip(rows, recs, strict=True)}
