"""Property-based fuzzing of the ingest boundary (Hypothesis; a bounded run here, bench/fuzz.py runs long).

Whatever a drop holds: ingest exits clean, ``input_rows == rows + quarantined_total``, every valid row comes
out exactly as it went in (PII redacted), and no id in the lake differs from how the input wrote it."""

from __future__ import annotations

import json
import tempfile

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import clean, tabular
from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from tests import fuzzing
from ugc import lake, storage

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ingest(files: dict[str, bytes]) -> tuple[dict, dict]:
    root = tempfile.mkdtemp(prefix="ugc-fuzz-")
    for name, data in files.items():
        storage.write_bytes(f"{root}/landing/dt={fuzzing.DAY}/{name}", data)
    cfg = IngestConfig.from_dict({"lake_uri": f"{root}/lake", "day": fuzzing.DAY, "isolation": "thread"})
    s = ingest_day(cfg, f"{root}/landing/dt={fuzzing.DAY}")
    return s, {r["post_id"]: r for r in lake.read_partition(s["partition_uri"]).to_pylist()}


@FAST
@given(st.integers(0, 2**32))
def test_hostile_drops(seed):
    files, valid = fuzzing.drop(seed)
    s, out = _ingest(files)
    assert fuzzing.problems(files, valid, s, out) == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@FAST
@given(field=st.sampled_from(["post_id", "platform", "author_id", "text", "created_at", "parent_id", "label", "id"]),
       value=JSON, junk=st.lists(st.binary(max_size=30), max_size=3))
def test_any_json_value_in_any_field(field, value, junk):
    row = fuzzing.valid_row(__import__("random").Random(0), 1) | {field: value}
    good = fuzzing.valid_row(__import__("random").Random(1), 2)
    data = b"\n".join([json.dumps(row).encode(), *junk, json.dumps(good).encode()]) + b"\n"
    s, out = _ingest({"a.jsonl": data})
    assert fuzzing.problems({"a.jsonl": data}, [good], s, out) == []


@FAST
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_cleaning_any_text(texts):
    arr = clean.normalize_text(pa.array(texts, pa.string()))
    red, counts = clean.redact_pii(arr)
    langs = clean.detect_lang(red, counts)
    assert len(red) == len(langs) == len(texts) and set(langs.to_pylist()) <= {"zh", "en", "other"}
    assert all("\u200b" not in t for t in red.to_pylist())


CELL = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12) | st.sampled_from(
    ['"', '""', ',', '\n', '\r', '"\n"', 'a"b', '\ufeff', ' post_id '])


@FAST
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=7), max_size=6), crlf=st.booleans())
def test_any_csv_cells(rows, crlf):
    import csv
    import io
    import random

    good = fuzzing.valid_row(random.Random(3), 3)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerow(list(good))
    for r in rows:
        w.writerow(r)
    w.writerow(list(good.values()))
    data = buf.getvalue().encode("utf-8", "surrogatepass")
    s, out = _ingest({"a.csv": data})
    assert fuzzing.problems({"a.csv": data}, [good], s, out) == []


PARQUET_TYPES = st.sampled_from([pa.int8(), pa.uint64(), pa.float16(), pa.float64(), pa.bool_(), pa.binary(),
                                 pa.large_string(), pa.decimal128(20, 3), pa.date32(), pa.timestamp("ns"),
                                 pa.timestamp("s", "Asia/Shanghai"), pa.list_(pa.binary()),
                                 pa.struct([("a", pa.decimal128(5, 1))]), pa.dictionary(pa.int8(), pa.string()),
                                 pa.null(), pa.duration("s"), pa.time64("us")])


@FAST
@given(field=st.sampled_from(["post_id", "platform", "author_id", "text", "created_at", "parent_id", "label"]),
       typ=PARQUET_TYPES, seed=st.integers(0, 1000))
def test_any_parquet_column_type(field, typ, seed):
    import io
    import random

    rng = random.Random(seed)
    rows = [fuzzing.valid_row(rng, k) for k in range(3)]
    cols = {c: pa.array([str(r.get(c)) if r.get(c) is not None else None for r in rows], pa.string())
            for c in ("post_id", "platform", "author_id", "text", "created_at", "parent_id", "label")}
    try:
        cols[field] = pa.array([None] * 3, pa.string()).cast(typ) if pa.types.is_null(typ) else \
            pa.nulls(3, typ) if rng.random() < 0.3 else _values(typ, rng)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        cols[field] = pa.nulls(3, typ)
    buf = io.BytesIO()
    import pyarrow.parquet as pq

    pq.write_table(pa.table(cols), buf)
    s, out = _ingest({"a.parquet": buf.getvalue()})
    assert s["input_rows"] == s["rows"] + s["quarantined_total"] == 3


def _values(typ, rng):
    import datetime as dt
    from decimal import Decimal

    samples = {"int": [1, -2, 3], "float": [1.5, -0.0, 1e300], "bool": [True, False, True], "binary": [b"\xff", b"ok", b""],
               "string": ["a", "", "c"], "decimal": [Decimal("1.250"), Decimal("-3"), None],
               "date": [dt.date(2026, 11, 20)] * 3, "timestamp": [dt.datetime(2026, 11, 20, 1, 2, 3)] * 3}
    for key, vals in samples.items():
        if key in str(typ):
            return pa.array(vals).cast(typ)
    return pa.nulls(3, typ)


def _ingest_with(files: dict[str, bytes], workers: int) -> tuple[dict, list, bytes]:
    root = tempfile.mkdtemp(prefix="ugc-slices-")
    for name, data in files.items():
        storage.write_bytes(f"{root}/landing/dt={fuzzing.DAY}/{name}", data)
    cfg = IngestConfig.from_dict({"lake_uri": f"{root}/lake", "day": fuzzing.DAY, "isolation": "thread",
                                  "workers": workers})
    s = ingest_day(cfg, f"{root}/landing/dt={fuzzing.DAY}")
    summary = {k: v for k, v in s.items() if k not in ("config", "partition_uri", "quarantine_uri", "snapshot_id")}
    rows = [r | {"source_file": r["source_file"].rsplit("/", 1)[-1]} for r in
            lake.read_partition(s["partition_uri"]).to_pylist()]
    return summary, rows, storage.read_bytes(s["quarantine_uri"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), slice_bytes=st.integers(1, 400))  # up to sources._MAX_SLICES each
def test_sliced_files_ingest_exactly_like_whole_ones(seed, slice_bytes):
    from unittest import mock

    from ingestion import sources

    files, _ = fuzzing.drop(seed, n_valid=30, n_hostile=12)
    whole = _ingest_with(files, workers=1)  # one reader: files are never sliced
    with mock.patch.object(sources, "SLICE_BYTES", slice_bytes):  # every JSONL file in many slices
        sliced = _ingest_with(files, workers=2)
    assert sliced[0] == whole[0] and sliced[1] == whole[1]
    assert _quarantine(sliced[2]) == _quarantine(whole[2])


def _quarantine(body: bytes) -> list:
    return [{k: v for k, v in json.loads(ln).items() if k != "source_file"} | {"file": json.loads(ln)["source_file"]
            .rsplit("/", 1)[-1]} for ln in body.splitlines() if ln.strip()]


@FAST
@given(data=st.binary(max_size=300) | st.lists(st.binary(max_size=20), max_size=20).map(b"\n".join),
       n=st.integers(1, 12))
def test_slices_cover_a_file_and_start_lines(data, n):
    from ingestion import sources

    bounds = [sources._slice(data, k, n) for k in range(n)]
    assert b"".join(data[a:b] for a, b in bounds) == data
    assert all(a in (0, len(data)) or data[a - 1:a] == b"\n" for a, _ in bounds)  # at the end: empty


_CSV_HEADER = b"post_id,platform,author_id,text,created_at,label"
_CSV_KINDS = [
    lambda i: f'c{i},weibo,u{i},"text {i}, a comma",{fuzzing.DAY}T01:00:00Z,positive',       # one line, quoted
    lambda i: f"p{i},weibo,u{i},plain {i},{fuzzing.DAY}T01:00:00Z,",                          # one line, bare
    lambda i: f'm{i},weibo,u{i},"two\nlines {i}",{fuzzing.DAY}T02:00:00Z,negative',           # a quoted line break
    lambda i: f'm{i},weibo,u{i},"three\n\nlines ""{i}""",{fuzzing.DAY}T02:00:00Z,',          # ... with a blank line
    lambda i: f'h{i},weibo,u1,"unclosed quote,{fuzzing.DAY}T01:00:00Z,',                      # swallows what follows
    lambda i: f'tail {i}",x,y',                                                                # closes someone's quote
    lambda i: f"w{i},weibo,short",                                                             # wrong width
    lambda i: "",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_CSV_KINDS) - 1), st.booleans()), min_size=1, max_size=40),
       st.integers(1, 300), st.sampled_from([b"\n", b"\r\n"]))
def test_sliced_csv_ingests_exactly_like_whole(kinds, slice_bytes, eol):
    """A CSV file in many slices (a record may run on past its slice: it is read again from its start) gives
    the partition, summary and quarantine of one reader."""
    from unittest import mock

    from ingestion import sources

    lines = [_CSV_KINDS[k](i).encode() + (b"\xff" if bad else b"") for i, (k, bad) in enumerate(kinds)]
    data = eol.join([_CSV_HEADER, *lines]) + eol
    whole = _ingest_with({"a.csv": data}, workers=1)
    with mock.patch.object(sources, "SLICE_BYTES", slice_bytes):
        sliced = _ingest_with({"a.csv": data}, workers=2)
    assert sliced[0] == whole[0] and sliced[1] == whole[1]
    assert _quarantine(sliced[2]) == _quarantine(whole[2])
    n = min(sources._MAX_SLICES, -(-len(data) // slice_bytes))
    for k in range(n):  # each slice names its own start, and a next record no later than its end
        start, end = sources._slice(data, k, n)
        got = tabular.read_csv("a.csv", data, start, end).span
        assert got[0] == start and got[1] <= end


def test_a_csv_record_over_a_slice_boundary_is_read_again_from_its_start():
    from unittest import mock

    from ingestion import pipeline, sources

    rows = [f'r{i},weibo,u{i},"first line\nsecond line {i}",{fuzzing.DAY}T0{i % 10}:00:00Z,positive'
            for i in range(40)]
    data = "\n".join(["post_id,platform,author_id,text,created_at,label", *rows]).encode() + b"\n"
    seen = []
    real = pipeline._misread
    with mock.patch.object(sources, "SLICE_BYTES", 97), \
            mock.patch.object(pipeline, "_misread", lambda parts: seen.append(real(parts)) or seen[-1]):
        summary, out, _ = _ingest_with({"a.csv": data}, workers=2)
    assert seen and seen[0] is not None  # a slice began inside a record: read again from that record
    assert summary["rows"] == 40 and summary["quarantined_total"] == 0
    assert sorted(r["text"] for r in out) == sorted(f"first line second line {i}" for i in range(40))

    one_line = "\n".join(r.replace("\n", " ") for r in rows)  # every slice starts a record: nothing read again
    seen.clear()
    with mock.patch.object(sources, "SLICE_BYTES", 97), \
            mock.patch.object(pipeline, "_misread", lambda parts: seen.append(real(parts)) or seen[-1]):
        summary, _, _ = _ingest_with({"a.csv": f"post_id,platform,author_id,text,created_at,label\n{one_line}\n"
                                      .encode()}, workers=2)
    assert seen == [None] and summary["rows"] == 40
