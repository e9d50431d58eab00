"""The CSV fast path: runs of one-line records parsed by Arrow in C++, with the same rows, values, reasons and
quarantine as Python's strict ``csv.reader`` (``ingestion.tabular.read_csv``) gives them.

A line is *simple* when every field on it is either unquoted without ``"``, ``,``, CR or NUL, or fully quoted
with doubled inner quotes and no CR or NUL. Such a line, read from a record boundary, is exactly one record
to both parsers, so a run of simple lines can go to Arrow while anything else (stray quotes, records over
several lines, NULs) stays with the Python reader. Why not Arrow for the whole file: its error recovery
differs from ``csv.reader``'s (a stray quote, a wrong-width multi-line record), and quarantine must keep the
exact lines of each bad record.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import schema as S
from ingestion.rawtable import RawRows

_QUOTED = r'"(?:[^"\r\x00]|"")*"'
_FIELD = rf'(?:{_QUOTED}|[^",\r\x00]*)'
SIMPLE = rf"^{_FIELD}(?:,{_FIELD})*\r?$"


def simple_lines(lines: pa.Array) -> np.ndarray:
    """Mask of the lines Arrow may parse as one record each (blank lines included: both readers skip them)."""
    return np.array(pc.fill_null(pc.match_substring_regex(lines, SIMPLE), False).to_numpy(zero_copy_only=False))


def _field_counts(lines: pa.Array) -> np.ndarray:
    # Simple lines only: with the quoted fields removed, every comma left separates two fields.
    bare = pc.replace_substring_regex(lines, _QUOTED, "")
    return pc.count_substring(bare, ",").to_numpy(zero_copy_only=False) + 1


def _parse(lines: list[bytes], width: int) -> pa.Table | None:
    import pyarrow.csv as pcsv

    names = [f"f{i}" for i in range(width)]
    try:
        t = pcsv.read_csv(
            pa.py_buffer(b"\n".join(lines)),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 26),
            parse_options=pcsv.ParseOptions(newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None
    return t if t.num_rows == len(lines) else None


def _canonical(t: pa.Table, columns: dict[str, list[int]]) -> tuple[pa.Table, pa.Array]:
    """(canonical values, first ambiguous field) of parsed rows, by ``tabular._values``' rules."""
    cells = [t.column(i).combine_chunks() for i in range(t.num_columns)]
    out, reason = {}, pa.nulls(t.num_rows, pa.string())
    for canon, cols in columns.items():
        present = [pc.if_else(pc.equal(cells[i], ""), None, cells[i]) for i in cols]
        value = pc.coalesce(*present) if present else pa.nulls(t.num_rows, pa.string())
        if canon == "text" and cols:  # an empty text cell is a value of its own (empty_text), not an absent field
            value = pc.fill_null(value, "")
        out[canon] = value
        clash = [pc.fill_null(pc.not_equal(a, b), False) for j, a in enumerate(present) for b in present[j + 1:]]
        if clash:
            reason = pc.if_else(pc.and_(pc.is_null(reason), functools.reduce(pc.or_, clash)),
                                f"{S.R_AMBIGUOUS}:{canon}", reason)
    return pa.table(out), reason


class FastLines:
    """The simple lines of one CSV file (positions into its decoded data lines), parsed by Arrow in one call; the
    reader takes runs of them where a record starts, and adds the records of the runs it took at the end."""

    def __init__(self, decoded: pa.Array, raw: list[bytes], columns: dict[str, list[int]], width: int):
        n = len(decoded)
        self.simple = simple_lines(decoded)
        blank = pc.equal(pc.utf8_trim(decoded, "\r"), "").to_numpy(zero_copy_only=False)
        counts = np.zeros(n, dtype=np.int64)
        s = np.flatnonzero(self.simple)
        counts[s] = _field_counts(decoded.take(s))
        self.good = self.simple & ~blank & (counts == width)
        self.wrong = np.flatnonzero(self.simple & ~blank & (counts != width))
        g = np.flatnonzero(self.good)
        t = _parse([raw[k] for k in g], width) if len(g) else None
        if len(g) and t is None:  # Arrow read them differently than expected: Python reads the whole file
            self.simple[:] = False
            self.good[:] = False
            self.wrong = self.wrong[:0]
        self.table = _canonical(t, columns) if t is not None else None
        self.row_of = np.cumsum(self.good) - 1  # position -> row of the parsed table
        # end of the run of simple lines that starts at each position
        nxt = np.append(np.flatnonzero(~self.simple), n)
        self.run_end = nxt[np.searchsorted(nxt, np.arange(n))]
        self.used: list[np.ndarray] = []

    def take_run(self, k: int) -> tuple[int, list[int]]:
        """(end of the run starting at ``k``, positions in it that are one line of the wrong width)."""
        j = int(self.run_end[k])
        self.used.append(np.arange(k, j))
        lo, hi = np.searchsorted(self.wrong, [k, j])
        return j, self.wrong[lo:hi].tolist()

    def add_to(self, rows: RawRows, order: list[int], lines: list[bytes], offsets: list[int]) -> None:
        """Add the good records of every run taken to ``rows``."""
        if not self.used or self.table is None:
            return
        pos = np.concatenate(self.used)
        pos = pos[self.good[pos]]
        canon, reason = self.table
        idx = pa.array(self.row_of[pos])
        line = [order[k] for k in pos.tolist()]
        rows.add_table(canon.take(idx), [i + 1 for i in line], [offsets[i] for i in line],
                       [len(lines[i]) for i in line], reason.take(idx))
