"""JSON-lines landing files -> canonical raw string columns, exact and crash-free on any input.

Fast path: blocks of object lines go to Arrow's C++ reader, and are accepted only when every mapped field came
back as a string (or, for ids and timestamps, an exact int64): anything else (a date-like text Arrow would
turn into a timestamp, a big integer it would round, a nested value) sends the block down, bisected so one bad
line does not slow a whole block. Lines that do not start with ``{`` never reach Arrow (a lone ``null`` once
crashed its reader). Lines are grouped by their shape (each key with the kind of value it holds) before
Arrow sees them: platforms in one file disagree (one writes ``"created_at": "2026-…"``, another an epoch
number), and a block mixing the two is refused whole by Arrow, which used to bisect mixed files down to
single lines (4.9k posts/s instead of Arrow's speed). The shape is only a grouping: Arrow still judges
every block, so a wrong guess costs speed, never correctness.

Slow path, per line: ``json`` with numbers kept as the literal text (ids are never rounded), a depth limit
(deep nesting is quarantined, not a crash), duplicate keys and wrong value types found and named.
"""

from __future__ import annotations

import io
import json
import re

import pyarrow as pa

from ingestion import schema as S
from ingestion.rawtable import RawRows, canonical_from_arrow

_BLOCK = 20_000
# "key": and the first character of its value (" string, digit/- number, t/f/n literal, [ or { nested).
_SHAPE = re.compile(rb'"([^"\\]{1,64})"\s*:\s*(["\[{tfn0-9-])')
# Arrow's JSON reader recurses per nesting level and overflows its stack around 100k levels (a segfault).
# A line can nest no deeper than it has opening brackets: lines with more than this never reach Arrow.
_MAX_BRACKETS = 64
_ROW = re.compile(r"in row (\d+)\b")  # Arrow's "JSON parse error: ... in row 1234" (0-based, in the block)
# Fields whose value may be a JSON number: ids and timestamps keep the digits as written; text may not.
NUMERIC_OK = frozenset({"post_id", "author_id", "parent_id", "created_at", "label", "label_confidence"})


class Num(str):
    """A JSON number, kept exactly as written."""


def _constant(name: str):
    raise ValueError(f"{name} is not JSON")


class _Obj(dict):
    ambiguous: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, object]]) -> _Obj:
    obj, seen, ambiguous = _Obj(), {}, []
    for k, v in pairs:
        n = S.norm_key(k)
        if n in seen and n in S.ALIAS_OF and n not in ambiguous:
            ambiguous.append(n)
        seen[n] = True
        obj[n] = v
    obj.ambiguous = tuple(ambiguous)
    return obj


def parse_line(raw: bytes) -> tuple[dict | None, str | None]:
    """(object with normalised keys, None) or (None, quarantine reason)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, S.R_INVALID_UTF8
    try:
        obj = json.loads(text, parse_int=Num, parse_float=Num, parse_constant=_constant, object_pairs_hook=_pairs)
    except RecursionError:
        return None, S.R_TOO_DEEP
    except ValueError:
        return None, S.R_MALFORMED_JSON
    if not isinstance(obj, dict):
        return None, S.R_NOT_OBJECT
    return obj, None


def record_values(obj: dict) -> tuple[dict[str, str | None], str | None]:
    """Canonical field -> string value (first present alias), and the first type problem as a reason."""
    out: dict[str, str | None] = {}
    reason = f"{S.R_AMBIGUOUS}:{S.ALIAS_OF[obj.ambiguous[0]]}" if getattr(obj, "ambiguous", ()) else None
    for canon, aliases in S.FIELD_ALIASES.items():
        value = next((obj[a] for a in aliases if obj.get(a) is not None), None)
        if value is None or (value.__class__ is str):
            out[canon] = value
        elif isinstance(value, Num) and canon in NUMERIC_OK:
            out[canon] = str(value)
        else:  # bool, object, array, or a number where text belongs
            out[canon] = None
            reason = reason or f"{S.R_WRONG_TYPE}:{canon}"
    return out, reason


def _arrow_block(lines: list[bytes], text_keys: tuple[str, ...] = ()) -> tuple[pa.Table | None, int | None]:
    """(one Arrow parse of ``lines`` or None, the row Arrow's error names, if it names one); ``text_keys`` (keys
    whose values are JSON strings in every line) are read as strings, so Arrow cannot turn
    "2026-11-20T01:00:00+08:00" into a timestamp and refuse the block."""
    import pyarrow.json as pj

    block = b"\n".join(lines)
    try:
        block.decode("utf-8")  # Arrow does not check UTF-8 (in keys, at least): never let it see invalid bytes
        parse = pj.ParseOptions(explicit_schema=pa.schema([(k, pa.string()) for k in text_keys]),
                                unexpected_field_behavior="infer")
        t = pj.read_json(io.BytesIO(block), read_options=pj.ReadOptions(block_size=1 << 24), parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        row = _ROW.search(str(e))
        return None, int(row.group(1)) if row else None
    except UnicodeDecodeError as e:
        return None, block.count(b"\n", 0, e.start)  # the line holding the first invalid byte
    if t.num_rows != len(lines):
        return None, None
    seen: dict[str, str] = {}
    for name, typ in zip(t.column_names, t.schema.types, strict=True):
        n = S.norm_key(name)
        if n not in S.ALIAS_OF:
            continue
        if n in seen:
            return None, None  # two spellings of one field: the slow path names the ambiguity
        seen[n] = name
        ok = pa.types.is_string(typ) or pa.types.is_null(typ) or (pa.types.is_int64(typ)
                                                                  and S.ALIAS_OF[n] in NUMERIC_OK)
        if not ok:
            return None, None
    return t, None


def read(source: str, data: bytes, start: int = 0, end: int | None = None) -> RawRows:
    """The lines of ``data[start:end]`` (a slice that starts a line; ingestion.sources), with their rows and byte
    offsets in the whole file."""
    end = len(data) if end is None else end
    first = data.count(b"\n", 0, start)  # rows are numbered in the file, not in the slice
    lines = data[start:end].split(b"\n")
    offsets, pos = [], start
    for ln in lines:
        offsets.append(pos)
        pos += len(ln) + 1
    rows = RawRows(source)

    def slow(i: int) -> None:
        obj, reason = parse_line(lines[i].strip())
        if obj is None:
            rows.reject(reason, first + i + 1, lines[i])
        else:
            values, type_reason = record_values(obj)
            rows.add_record(first + i + 1, offsets[i], len(lines[i]), values, type_reason)

    objects = []
    for i, ln in enumerate(lines):
        if ln.lstrip()[:1] == b"{" and ln.count(b"{") + ln.count(b"[") <= _MAX_BRACKETS:
            objects.append(i)
        elif ln.strip():
            slow(i)

    def fast(idx: list[int], text_keys: tuple[str, ...] = ()) -> None:
        if not idx:
            return
        t, row = _arrow_block([lines[i] for i in idx], text_keys)
        if t is not None:
            rows.add_table(canonical_from_arrow(t), [first + i + 1 for i in idx], [offsets[i] for i in idx],
                           [len(lines[i]) for i in idx])
            return
        if len(idx) == 1:
            slow(idx[0])
            return
        if row is not None and 0 <= row < len(idx):
            # Arrow named the line it stopped at: the lines before it are one block, that line is tried alone.
            # (Only a hint: a wrong one costs parses, never a wrong row.)
            fast(idx[:row], text_keys)
            fast([idx[row]], text_keys)
            idx = idx[row + 1:]
        # Bisect the rest: one bad line costs log2(block) small parses, not a whole slow block, and many bad lines
        # cannot make the hints above re-parse the block once per line.
        if len(idx) > 1:
            fast(idx[:len(idx) // 2], text_keys)
            fast(idx[len(idx) // 2:], text_keys)
        else:
            fast(idx, text_keys)

    # Lines are grouped by the regex's raw matches first (a C call per line, no Python per key); the few
    # distinct raw shapes are then normalised (every number kind alike) and merged, in first-seen order.
    raw: dict[tuple, list[int]] = {}
    for i in objects:
        raw.setdefault(tuple(_SHAPE.findall(lines[i])), []).append(i)
    groups: dict[tuple, list[int]] = {}
    for found, idx in sorted(raw.items(), key=lambda kv: kv[1][0]):
        groups.setdefault(_normal(found), []).extend(idx)
    for keys, idx in _merge(groups):
        idx.sort()
        for start in range(0, len(idx), _BLOCK):
            fast(idx[start:start + _BLOCK], keys)
    return rows


def _merge(groups: dict[tuple, list[int]]) -> list[tuple[tuple[str, ...], list[int]]]:
    """(text keys, lines) per Arrow block group: shapes with the same keys whose kinds differ only where one of
    them holds null parse as one (a null beside strings is a string column). Generated and real drops write
    optional fields as null in some lines: 21 shapes in one file were 249 Arrow calls."""
    merged: list[tuple[dict | None, list[int], tuple]] = []
    for shape, idx in groups.items():
        kinds = dict(shape)
        if len(kinds) != len(shape):  # a key twice in a line: left alone (Arrow and the slow path judge it)
            merged.append((None, list(idx), shape))
            continue
        for m in merged:
            if m[0] is not None and m[0].keys() == kinds.keys() and \
                    all(m[0][k] == v or b"n" in (m[0][k], v) for k, v in kinds.items()):
                m[0].update({k: v for k, v in kinds.items() if v != b"n"})
                m[1].extend(idx)
                break
        else:
            merged.append((kinds, list(idx), shape))
    return [(_text_keys(tuple(k.items()) if k is not None else shape), idx) for k, idx, shape in merged]


def _normal(found) -> tuple[tuple[bytes, bytes], ...]:
    """(key, kind of its value) pairs in order, kind one of " 1 t f n [ {: lines of one shape parse as one
    Arrow block ('"created_at": "…"' and '"created_at": 17…' do not)."""
    return tuple((k, b"1" if v in b"-0123456789" else v) for k, v in found)


def _text_keys(shape: tuple[tuple[bytes, bytes], ...]) -> tuple[str, ...]:
    """Keys a shape says hold strings (a key seen twice in a line is left to Arrow and the slow path)."""
    try:
        keys = tuple(k.decode("utf-8") for k, kind in shape if kind == b'"')
    except UnicodeDecodeError:
        return ()
    return keys if len(set(keys)) == len(keys) else ()
