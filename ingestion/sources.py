"""Landing files (JSONL, CSV, Parquet; plain or .gz/.bz2/.zst/.lz4; local or s3://) -> canonical raw rows.

``read_file(uri, max_bytes)`` never raises on what a file contains: a file that cannot be read at all is one
quarantine record (``unreadable_file:<error>``, ``file_too_large``); its rows are never guessed at.
``raw_records(uri, rows)`` gives back the exact original bytes of rows that failed a later check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pyarrow as pa

from ingestion import jsonl, tabular
from ingestion import schema as S
from ingestion.rawtable import empty, quarantine_record
from ugc import storage

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4"}
_READERS = {"jsonl": jsonl.read, "csv": tabular.read_csv, "parquet": tabular.read_parquet}
# A plain local JSONL or CSV file is parsed in line-aligned slices of about this size, in parallel. Whole files,
# the largest bounded the pool: 1M generated posts in four files of 8-77 MB were 26 s of parsing, 16 s of it on
# one of two workers. A CSV record may run on past its slice (a quoted line break): each slice says where the next
# record starts, and the pipeline reads again from there when the next slice started elsewhere. Compressed and S3
# files (each slice would fetch the whole object) are parsed whole.
SLICE_BYTES = 8 << 20
_MAX_SLICES = 32  # each slice loads the whole file: past this, more slices cost more than they balance


@dataclass
class RawBatch:
    source: str
    table: pa.Table  # canonical string columns + _row, _reason, _off, _len (ingestion.rawtable.SCHEMA)
    quarantine: list[dict] = field(default_factory=list)
    span: tuple[int, int] | None = None  # a CSV slice's (first byte, byte where the next record starts)


def detect(uri: str) -> tuple[str | None, str | None]:
    """(format, compression) from the file name: "a.jsonl.zst" -> ("jsonl", "zstd")."""
    name = uri.rsplit("/", 1)[-1].lower()
    codec = next((c for ext, c in COMPRESSION.items() if name.endswith(ext)), None)
    if codec:
        name = name[:name.rfind(".")]
    fmt = next((f for ext, f in FORMATS.items() if name.endswith(ext)), None)
    return fmt, codec


def detect_format(uri: str) -> str | None:
    return detect(uri)[0]


class FileTooLarge(ValueError):
    pass


def decompress(data: bytes, codec: str | None, max_bytes: int) -> bytes:
    """The file's bytes, decompressed with a cap: a 1 KB bomb that inflates to 100 GB stops at ``max_bytes``."""
    if codec is None:
        if len(data) > max_bytes:
            raise FileTooLarge(f"{len(data)} bytes > {max_bytes}")
        return data
    if codec == "bz2":  # Arrow builds without bz2 exist; the standard library always has it
        import bz2

        d = bz2.BZ2Decompressor()
        out = d.decompress(data, max_length=max_bytes + 1)
    else:
        stream = pa.CompressedInputStream(pa.BufferReader(data), codec)
        out = stream.read(max_bytes + 1)
    if len(out) > max_bytes:
        raise FileTooLarge(f"more than {max_bytes} bytes after {codec} decompression")
    return out


def load(uri: str, max_bytes: int) -> bytes:
    return decompress(storage.read_bytes(uri), detect(uri)[1], max_bytes)


def plan(files: list[str], workers: int) -> list[tuple[str, tuple[int, int], int]]:
    """(uri, (slice, slices), bytes) work units for ``workers`` parallel readers: every file once, a large plain
    local JSONL or CSV file as several slices (read_file's ``part``)."""
    units = []
    for uri in files:
        fmt, codec = detect(uri)
        size = 0 if storage.is_s3(uri) else _size(uri)
        sliced = workers > 1 and fmt in ("jsonl", "csv") and codec is None and size
        n = min(_MAX_SLICES, -(-size // SLICE_BYTES)) if sliced else 1
        units += [(uri, (k, n), size // n) for k in range(n)]
    return units


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # gone or unreadable: read_file says why
        return 0


def _slice(data: bytes, k: int, n: int) -> tuple[int, int]:
    """Byte range of slice ``k`` of ``n``: each starts right after a newline, so no line is split."""
    def cut(j: int) -> int:
        if j <= 0 or j >= n:
            return 0 if j <= 0 else len(data)
        p = data.find(b"\n", j * len(data) // n)
        return len(data) if p < 0 else p + 1
    return cut(k), cut(k + 1)


def read_file(uri: str, max_bytes: int = 1 << 31, part: tuple[int, ...] = (0, 1)) -> RawBatch:
    """Read one landing file, or slice ``part = (k, n)`` of it (JSONL, CSV; see ``plan``), or for a CSV file
    ``(k, n, start)`` everything from byte ``start`` on. A file that cannot be read at all is quarantined whole,
    not raised (once: by its first slice)."""
    fmt = detect_format(uri)
    k, n, *again = part
    try:
        data = load(uri, max_bytes)
        if n == 1:
            rows = _READERS[fmt](uri, data)
        elif fmt == "csv":
            rows = tabular.read_csv(uri, data, *((again[0], len(data)) if again else _slice(data, k, n)))
        else:
            rows = jsonl.read(uri, data, *_slice(data, k, n))
        table, bad = rows.finish()
        return RawBatch(uri, table, bad, rows.span)
    except FileTooLarge as e:
        rec = quarantine_record(S.R_FILE_TOO_LARGE, uri, 0, str(e))
        if k:  # every slice finds the same size: the first one reports it
            return RawBatch(uri, empty(), [])
    except (storage.StorageError, FileNotFoundError, PermissionError):
        raise  # the store, not the file: worth a retry
    except Exception as e:  # noqa: BLE001 (whatever a file holds, the day goes on; the file stays in landing)
        where = f" (slice {k + 1} of {n})" if n > 1 else ""
        rec = quarantine_record(f"{S.R_UNREADABLE}:{type(e).__name__}", uri, 0, f"{e}"[:2000] + where)
    return RawBatch(uri, empty(), [rec])


def raw_records(uri: str, rows: list[tuple[int, int | None, int | None]],
                max_bytes: int = 1 << 31) -> dict[int, bytes | str]:
    """The original input of rows (row number, byte offset, length): exact bytes for JSONL/CSV lines, the
    record as JSON for Parquet."""
    data = load(uri, max_bytes)
    if detect_format(uri) == "csv" and b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    out: dict[int, bytes | str] = {r: data[off:off + n] for r, off, n in rows if off is not None}
    whole = [r for r, off, _ in rows if off is None]  # Parquet rows: no byte range, the record as JSON
    if whole:
        out.update(tabular.parquet_records(data, whole))
    return out


def list_landing(landing_uri: str) -> tuple[list[str], list[str]]:
    """(readable landing files, files of an unknown type) under a drop directory; names starting with "_" or
    "." are markers (``_SUCCESS``), not data."""
    files = [f for f in storage.list_files(landing_uri) if not f.rsplit("/", 1)[-1].startswith(("_", "."))]
    known = [f for f in files if detect_format(f)]
    return known, [f for f in files if not detect_format(f)]


def provenance(landing_uri: str) -> list[dict]:
    """The ``_provenance-*.json`` records a drop carries (public data sets: package, licence, policy)."""
    out = []
    for f in storage.list_files(landing_uri):
        name = f.rsplit("/", 1)[-1]
        if name.startswith("_provenance") and name.endswith(".json"):
            import json

            try:
                out.append(json.loads(storage.read_bytes(f)))
            except ValueError:
                out.append({"unreadable_provenance": f})
    return out
