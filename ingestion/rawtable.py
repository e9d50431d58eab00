"""What every reader produces: canonical string columns per row, plus where each row came from.

    post_id, platform, author_id, text, created_at, parent_id, label   strings (null when absent)
    _row     1-based line (JSONL, CSV) or record number (Parquet)
    _reason  the first problem the reader found in the row (wrong_type:text, ambiguous_field:post_id, ...)
    _off, _len  the row's bytes in the (decompressed) file, so quarantine keeps the original exactly

Rows that cannot even be parsed become quarantine records right away (``quarantine``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ingestion import schema as S

FIELDS = tuple(S.FIELD_ALIASES)
META = pa.schema([("_row", pa.int64()), ("_reason", pa.string()), ("_off", pa.int64()), ("_len", pa.int64())])
SCHEMA = pa.schema([pa.field(f, pa.string()) for f in FIELDS] + list(META))


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


def empty() -> pa.Table:
    return SCHEMA.empty_table()


def canonical_from_arrow(t: pa.Table) -> pa.Table:
    """Canonical string columns from a table whose mapped columns are strings, exact int64 or null (the JSONL
    fast path). The first present alias wins per row."""
    cols = {S.norm_key(n): t.column(n).combine_chunks() for n in t.column_names if S.norm_key(n) in S.ALIAS_OF}
    out = {}
    for canon, aliases in S.FIELD_ALIASES.items():
        col = None
        for a in aliases:
            if a in cols:
                c = cols[a]
                c = pa.nulls(len(c), pa.string()) if pa.types.is_null(c.type) else c.cast(pa.string())
                col = c if col is None else pc.coalesce(col, c)
        out[canon] = col if col is not None else pa.nulls(t.num_rows, pa.string())
    return pa.table(out)


@dataclass
class RawRows:
    """Accumulates a file's rows from fast (Arrow tables) and slow (one record at a time) paths."""

    source: str
    tables: list[pa.Table] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    span: tuple[int, int] | None = None  # CSV slices: (first byte, byte where the next record starts)

    def add_table(self, canon: pa.Table, rows: list[int], offs: list[int | None], lens: list[int | None],
                  reasons: pa.Array | None = None) -> None:
        n = canon.num_rows
        self.tables.append(canon.select(list(FIELDS)).append_column("_row", pa.array(rows, pa.int64()))
                           .append_column("_reason", reasons if reasons is not None else pa.nulls(n, pa.string()))
                           .append_column("_off", pa.array(offs, pa.int64()))
                           .append_column("_len", pa.array(lens, pa.int64())))

    def add_record(self, row: int, off: int | None, length: int | None, values: dict, reason: str | None) -> None:
        self.records.append({**values, "_row": row, "_reason": reason, "_off": off, "_len": length})

    def reject(self, reason: str, row: int, raw: bytes | str) -> None:
        self.quarantine.append(quarantine_record(reason, self.source, row, raw))

    def finish(self) -> tuple[pa.Table, list[dict]]:
        """(rows sorted by position, quarantine records)."""
        parts = [*self.tables]
        if self.records:
            parts.append(pa.Table.from_pylist(self.records, schema=SCHEMA))
        table = pa.concat_tables([p.cast(SCHEMA) for p in parts]) if parts else empty()
        return table.sort_by("_row"), self.quarantine
