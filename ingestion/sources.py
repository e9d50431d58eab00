"""Read landing files (JSONL, CSV, Parquet; local or s3://) into raw string columns.

Output of ``read_file``: a ``RawBatch`` whose table holds one string column per canonical
field (``ingestion.schema.FIELD_ALIASES``; null when absent) plus ``_row`` (1-based line or
record number), and the rows that could not even be parsed, as quarantine records that keep
the original line verbatim.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import schema as S
from ugc import storage

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_JSON_BLOCK_LINES = 20_000


@dataclass
class RawBatch:
    source: str
    table: pa.Table  # canonical string columns + _row
    quarantine: list[dict] = field(default_factory=list)


def detect_format(uri: str) -> str | None:
    name = uri.rsplit("/", 1)[-1].lower()
    for ext, fmt in FORMATS.items():
        if name.endswith(ext):
            return fmt
    return None


def quarantine_record(reason: str, source: str, row: int, raw: bytes | str) -> dict:
    """A quarantine row: the reason plus the original input, kept byte-exact (base64 when not UTF-8)."""
    rec = {"reason": reason, "source_file": source, "row": row}
    if isinstance(raw, bytes):
        try:
            rec["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            rec["raw"] = raw.decode("utf-8", "backslashreplace")
            rec["raw_b64"] = base64.b64encode(raw).decode("ascii")
    else:
        rec["raw"] = raw
    return rec


def _to_str(v) -> str | None:
    if v is None or v.__class__ is str:
        return v
    if isinstance(v, (dict, list)):
        return orjson.dumps(v).decode()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _canonical(columns: dict[str, pa.Array], n: int, rows: pa.Array) -> pa.Table:
    """Pick the first present alias of each canonical field; cast everything to string."""
    out = {}
    for canon, aliases in S.FIELD_ALIASES.items():
        col = None
        for a in aliases:
            if a in columns:
                c = columns[a]
                c = c if c.type == pa.string() else _cast_str(c)
                col = c if col is None else pc.coalesce(col, c)
        out[canon] = col if col is not None else pa.nulls(n, pa.string())
    out["_row"] = rows
    return pa.table(out)


def _cast_str(arr: pa.Array) -> pa.Array:
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_timestamp(arr.type):  # keep the instant exact and unambiguous
        ts = arr.cast(pa.timestamp("us", tz=arr.type.tz or "UTC"))
        return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S%z")  # Arrow %S includes the fraction
    if pa.types.is_floating(arr.type):
        return pa.array([_to_str(v) for v in arr.to_pylist()], pa.string())
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_to_str(v) for v in arr.to_pylist()], pa.string())


def _infer_column(values: list) -> pa.Array:
    """Arrow-typed column from Python values; mixed types (str and int ids) fall back to str()."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_to_str(v) for v in values], pa.string())
    return arr if not pa.types.is_nested(arr.type) else pa.array([_to_str(v) for v in values], pa.string())


def _json_block_fast(block: bytes) -> pa.Table | None:
    """Parse a block with Arrow's C++ reader; None when any line in it is bad (caller falls back)."""
    import pyarrow.json as pj

    try:
        t = pj.read_json(io.BytesIO(block), read_options=pj.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(pa.types.is_nested(ty) for ty in t.schema.types):
        return None  # objects/lists as field values: let the slow path stringify them
    return t


def _read_jsonl(source: str, data: bytes) -> RawBatch:
    lines = data.split(b"\n")
    parts, bad = [], []
    for start in range(0, len(lines), _JSON_BLOCK_LINES):
        chunk = lines[start:start + _JSON_BLOCK_LINES]
        nums = [start + i + 1 for i, ln in enumerate(chunk) if ln.strip()]
        body = [ln for ln in chunk if ln.strip()]
        if not body:
            continue
        t = _json_block_fast(b"\n".join(body))
        if t is not None and t.num_rows == len(body):
            cols = {name: t.column(name).combine_chunks() for name in t.column_names}
            parts.append(_canonical(cols, t.num_rows, pa.array(nums, pa.int64())))
            continue
        recs, rows = [], []
        for num, ln in zip(nums, body, strict=True):
            try:
                obj = orjson.loads(ln)
            except orjson.JSONDecodeError:
                reason = S.R_MALFORMED_JSON
                try:
                    ln.decode("utf-8")
                except UnicodeDecodeError:
                    reason = S.R_INVALID_UTF8
                bad.append(quarantine_record(reason, source, num, ln))
                continue
            if not isinstance(obj, dict):
                bad.append(quarantine_record(S.R_NOT_OBJECT, source, num, ln))
                continue
            recs.append(obj)
            rows.append(num)
        wanted = {a for aliases in S.FIELD_ALIASES.values() for a in aliases}
        keys = {k for o in recs for k in o} & wanted
        cols = {k: _infer_column([o.get(k) for o in recs]) for k in keys}
        parts.append(_canonical(cols, len(recs), pa.array(rows, pa.int64())))
    table = pa.concat_tables(parts) if parts else _canonical({}, 0, pa.array([], pa.int64()))
    return RawBatch(source, table, bad)


def _split_invalid_utf8(source: str, data: bytes) -> tuple[bytes, list[dict]]:
    """Drop (and quarantine) lines that are not UTF-8, for formats whose parser rejects whole files."""
    try:
        data.decode("utf-8")
        return data, []
    except UnicodeDecodeError:
        pass
    keep, bad = [], []
    for i, ln in enumerate(data.split(b"\n"), 1):
        try:
            ln.decode("utf-8")
            keep.append(ln)
        except UnicodeDecodeError:
            bad.append(quarantine_record(S.R_INVALID_UTF8, source, i, ln))
    return b"\n".join(keep), bad


def _read_csv(source: str, data: bytes) -> RawBatch:
    import csv

    import pyarrow.csv as pacsv

    data, bad = _split_invalid_utf8(source, data)
    header_line = data.split(b"\n", 1)[0].decode("utf-8").lstrip("\ufeff")
    names = next(csv.reader([header_line]), [])
    invalid: list[dict] = []

    def on_invalid(row) -> str:
        invalid.append(quarantine_record(S.R_MALFORMED_CSV, source, row.number or -1, row.text))
        return "skip"

    t = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False),
    )
    # Empty CSV cells mean "absent": only for the text column is "" a (bad) value of its own.
    cols = {}
    for n in t.column_names:
        c = t.column(n).combine_chunks()
        cols[n] = c if n in S.FIELD_ALIASES["text"] else pc.if_else(pc.equal(c, ""), None, c)
    rows = pa.array(range(1, t.num_rows + 1), pa.int64())
    return RawBatch(source, _canonical(cols, t.num_rows, rows), bad + invalid)


def _read_parquet(source: str, data: bytes) -> RawBatch:
    import pyarrow.parquet as pq

    t = pq.read_table(io.BytesIO(data))
    cols = {n: t.column(n).combine_chunks() for n in t.column_names}
    rows = pa.array(range(1, t.num_rows + 1), pa.int64())
    return RawBatch(source, _canonical(cols, t.num_rows, rows))


_READERS = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}


def read_file(uri: str) -> RawBatch:
    """Read one landing file. A file that cannot be read at all is quarantined whole, not raised."""
    fmt = detect_format(uri)
    data = storage.read_bytes(uri)
    try:
        return _READERS[fmt](uri, data)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, ValueError, OSError) as e:
        rec = quarantine_record(f"{S.R_UNREADABLE}:{type(e).__name__}", uri, 0, f"{e}"[:2000])
        return RawBatch(uri, _canonical({}, 0, pa.array([], pa.int64())), [rec])


def raw_rows(uri: str, rows: list[int]) -> dict[int, bytes | str]:
    """The original input of specific rows (for quarantining rows that parsed but failed checks)."""
    fmt = detect_format(uri)
    data = storage.read_bytes(uri)
    want = set(rows)
    if fmt == "jsonl":
        lines = data.split(b"\n")
        return {r: lines[r - 1] for r in want}
    if fmt == "csv":
        import pyarrow.csv as pacsv

        data, _ = _split_invalid_utf8(uri, data)
        t = pacsv.read_csv(io.BytesIO(data), parse_options=pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=lambda _r: "skip"))
    else:
        import pyarrow.parquet as pq

        t = pq.read_table(io.BytesIO(data))
    idx = sorted(want)
    recs = t.take(pa.array([r - 1 for r in idx])).to_pylist()
    return {r: orjson.dumps(rec, default=str).decode() for r, rec in zip(idx, recs, strict=True)}


def list_landing(landing_uri: str) -> tuple[list[str], list[str]]:
    """(readable landing files, files with unknown extensions) under a drop directory."""
    files = storage.list_files(landing_uri)
    known = [f for f in files if detect_format(f)]
    unknown = [f for f in files if not detect_format(f) and not f.rsplit("/", 1)[-1].startswith("_")]
    return known, unknown
