import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion import sources
from ugc import storage


def _write(root, name, data: bytes) -> str:
    uri = storage.join(root, name)
    storage.write_bytes(uri, data)
    return uri


def test_jsonl_bad_lines_are_quarantined_verbatim(root):
    lines = [
        json.dumps({"id": 1, "platform": "twitter", "user_id": "u", "text": "hi 😀", "ts": 1795189283}),
        b'{"id": "2", "platform": "weibo", "text": "truncated'.decode(),
        "",
        "[1, 2, 3]",
        json.dumps({"mid": "3", "platform": "weibo", "uid": "u", "content": "你好", "created_at": "2026-11-20"},
                   ensure_ascii=False),
    ]
    data = "\n".join(lines).encode() + b"\n" + b'{"id": "4", "text": "\xff\xfe"}\n'
    batch = sources.read_file(_write(root, "a.jsonl", data))
    t = batch.table.to_pylist()
    assert [r["post_id"] for r in t] == ["1", "3"]
    assert t[0]["created_at"] == "1795189283" and t[1]["text"] == "你好"  # aliases + ints as strings
    reasons = {q["row"]: q["reason"] for q in batch.quarantine}
    assert reasons == {2: "malformed_json", 4: "not_a_json_object", 6: "invalid_utf8"}
    bad_utf8 = next(q for q in batch.quarantine if q["row"] == 6)
    import base64
    assert base64.b64decode(bad_utf8["raw_b64"]) == b'{"id": "4", "text": "\xff\xfe"}'


def test_jsonl_mixed_types_and_nested_values(root):
    data = b"\n".join(json.dumps(o).encode() for o in [
        {"id": 1, "text": "a", "created_at": "2026-11-20T00:00:00Z"},
        {"id": "x2", "text": {"nested": True}, "created_at": 1795189283146},
    ])
    t = sources.read_file(_write(root, "m.jsonl", data)).table.to_pylist()
    assert [r["post_id"] for r in t] == ["1", "x2"]
    # An object where text belongs is not text (issue #14: it was stored as its JSON); the row says why.
    assert t[1]["text"] is None and t[1]["_reason"] == "wrong_type:text" and t[1]["created_at"] == "1795189283146"


def test_csv_malformed_row_and_invalid_utf8(root):
    data = ('post_id,platform,author_id,text,created_at,label\n'
            '1,xhs,u1,"好, 很好",2026-11-20 01:00:00,\n'
            '2,xhs,u2,too,many,columns,here,x\n').encode() + b'3,xhs,u3,\xff,2026-11-20,\n' \
        + '4,xhs,u4,"多行\n文本",2026-11-20 02:00:00,positive\n'.encode()
    batch = sources.read_file(_write(root, "x.csv", data))
    t = batch.table.to_pylist()
    assert [r["post_id"] for r in t] == ["1", "4"]
    assert t[0]["label"] is None and t[0]["text"] == "好, 很好" and t[1]["text"] == "多行\n文本"
    assert sorted(q["reason"] for q in batch.quarantine) == ["invalid_utf8", "malformed_csv"]


def test_parquet_typed_columns(root):
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "body": ["a", "b"], "ts": pa.array([0, 1], pa.timestamp("s", "UTC"))}),
                   buf)
    t = sources.read_file(_write(root, "p.parquet", buf.getvalue())).table.to_pylist()
    assert [r["post_id"] for r in t] == ["1", "2"]
    assert t[1]["created_at"] == "1970-01-01T00:00:01.000000+0000"


def test_jsonl_fast_path_inferred_timestamps_stay_exact(root):
    data = b'{"id": "1", "text": "a", "created_at": "2026-11-20T10:00:00.5Z"}\n'
    t = sources.read_file(_write(root, "f.jsonl", data)).table.to_pylist()
    import pyarrow as pa

    from ingestion.clean import parse_timestamps
    ts = parse_timestamps(pa.array([t[0]["created_at"]])).to_pylist()[0]
    assert ts.isoformat() == "2026-11-20T10:00:00.500000+00:00"


def test_unreadable_file_is_quarantined_not_raised(root):
    batch = sources.read_file(_write(root, "broken.parquet", b"not parquet at all"))
    assert batch.table.num_rows == 0
    assert batch.quarantine[0]["reason"].startswith("unreadable_file")


def test_list_landing_splits_unknown(root):
    for n in ("a.jsonl", "b.csv", "c.parquet", "notes.txt", "_SUCCESS"):
        _write(root, n, b"")
    known, unknown = sources.list_landing(root)
    assert [k.rsplit("/", 1)[1] for k in known] == ["a.jsonl", "b.csv", "c.parquet"]
    assert [u.rsplit("/", 1)[1] for u in unknown] == ["notes.txt"]


def test_platforms_mixing_value_types_in_one_file_still_parse_in_a_few_arrow_blocks(monkeypatch):
    """One platform writes "created_at" as text, another as an epoch number: Arrow refuses a block mixing them,
    and without grouping lines by shape every block bisected down to single lines (4.9k posts/s)."""
    import json as _json

    from ingestion import jsonl

    calls = []
    real = jsonl._arrow_block
    monkeypatch.setattr(jsonl, "_arrow_block", lambda lines, *a: calls.append(len(lines)) or real(lines, *a))
    lines = [_json.dumps({"mid": f"w{i}", "uid": "u1", "content": "好", "created_at": "2026-11-20T01:00:00+08:00"})
             if i % 2 else _json.dumps({"comment_id": f"d{i}", "user_id": "u2", "text": "ok",
                                        "created_at": 1795132800000 + i}) for i in range(2000)]
    rows = jsonl.read("f.jsonl", "\n".join(lines).encode())
    table, quarantine = rows.finish()
    assert table.num_rows == 2000 and not quarantine
    assert table["_row"].to_pylist() == list(range(1, 2001))  # input order, whatever the grouping
    assert len(calls) <= 4, calls


def test_bad_lines_are_found_from_arrow_row_hints_not_by_bisecting_alone(monkeypatch):
    """Arrow names the row it stopped at (and a bad UTF-8 byte has a position): the lines before it parse as one
    block. Every line is still judged by Arrow or the slow path, so rows and reasons are those of bisection."""
    import json as _json

    from ingestion import jsonl
    from ingestion import schema as S

    calls = []
    real = jsonl._arrow_block
    monkeypatch.setattr(jsonl, "_arrow_block", lambda lines, *a: calls.append(len(lines)) or real(lines, *a))
    good = [_json.dumps({"id": f"p{i}", "user_id": "u", "text": "好", "created_at": 1795132800 + i}).encode()
            for i in range(4000)]
    # Same shape as the good lines (so grouped with them), yet refused: no closing brace, a bad byte, junk after.
    bad = {150: good[150][:-1], 1700: good[1700].replace(b"\\u597d", b"\xff"), 3999: good[3999] + b"}"}
    lines = [bad.get(i, ln) for i, ln in enumerate(good)]
    table, quarantine = jsonl.read("f.jsonl", b"\n".join(lines)).finish()
    assert table["_row"].to_pylist() == [i + 1 for i in range(4000) if i not in bad]
    assert sorted((q["row"], q["reason"]) for q in quarantine) == [
        (151, S.R_MALFORMED_JSON), (1701, S.R_INVALID_UTF8), (4000, S.R_MALFORMED_JSON)]
    # Bisection alone: 67 parses. With the hints: 31, most of them bisecting down to the junk-after line, whose
    # error names no row.
    assert len(calls) <= 40, calls
