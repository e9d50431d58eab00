"""One regression test per class of hostile or messy input (issue #14): none may crash the day, damage a row
silently, or lose one. Every test checks the accounting ``input_rows == rows + quarantined_total``."""

from __future__ import annotations

import bz2
import gzip
import io
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from ugc import lake, storage

DAY = "2026-11-20"
TS = "2026-11-20T08:00:00Z"


def row(i, **kw) -> dict:
    return {"post_id": f"p{i}", "platform": "weibo", "author_id": f"u{i}", "text": f"正常的帖子内容 number {i}",
            "created_at": TS, **kw}


def jsonl(*objs) -> bytes:
    return b"".join((o if isinstance(o, bytes) else json.dumps(o, ensure_ascii=False).encode()) + b"\n" for o in objs)


def ingest(tmp_path, files: dict[str, bytes], **cfg) -> tuple[dict, dict[str, dict]]:
    landing, lake_uri = str(tmp_path / "landing"), str(tmp_path / "lake")
    for name, data in files.items():
        storage.write_bytes(f"{landing}/dt={DAY}/{name}", data)
    s = ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": DAY, **cfg}), f"{landing}/dt={DAY}")
    assert s["input_rows"] == s["rows"] + s["quarantined_total"]
    t = lake.read_partition(s["partition_uri"]).to_pylist()
    return s, {r["post_id"]: r for r in t}


# -- crashes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"null\n", jsonl(row(1), b"null"), b"null", b"[]\n1\n\"x\"\ntrue\n"])
def test_json_values_that_are_not_objects(tmp_path, data):
    s, rows = ingest(tmp_path, {"a.jsonl": data})
    assert s["quarantined"].get("not_a_json_object", 0) >= 1 and set(rows) <= {"p1"}


@pytest.mark.parametrize("obj,field", [(row(1, post_id=None), "post_id"), (row(1, platform=" "), "platform"),
                                       (row(1, author_id=""), "author_id"),
                                       ({k: v for k, v in row(1).items() if k != "author_id"}, "author_id")])
def test_missing_null_or_blank_required_fields(tmp_path, obj, field):
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(obj, row(2))})
    assert s["quarantined"] == {f"missing_field:{field}": 1} and set(rows) == {"p2"}


def test_blank_csv_cells_and_spaced_header_names(tmp_path):
    data = (" post_id ,Platform,author_id,text,created_at\n,weibo,u1,有内容的帖子,2026-11-20T01:00:00Z\n"
            "p2,weibo,u2,另一个帖子,2026-11-20T02:00:00Z\n").encode()
    s, rows = ingest(tmp_path, {"a.csv": data})
    assert s["quarantined"] == {"missing_field:post_id": 1} and set(rows) == {"p2"}


@pytest.mark.parametrize("text,kept", [("", False), ("   ", False), ("\u200b\u200b", False),
                                       ("https://example.com/x", True), ("+86 138 0013 8000", True)])
def test_a_last_row_empty_after_cleaning(tmp_path, text, kept):
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(row(1), row(2, text=text))})
    assert set(rows) == ({"p1", "p2"} if kept else {"p1"}) and s["quarantined_total"] == (0 if kept else 1)
    if kept:  # a post that is only a link is a post; its language is unknown, not a crash
        assert rows["p2"]["lang"] == "other" and rows["p2"]["text"] in ("[URL]", "[PHONE]")


def test_huge_integers_and_deep_nesting(tmp_path):
    deep = b'{"post_id": "p3", "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    deeper = b'{"text": ' + b'{"a":' * 200_000 + b"1" + b"}" * 200_000 + b"}"  # once a segfault in Arrow
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(row(1, post_id=2**63 + 5), row(2, post_id=12345678901234567890123),
                                                 deep, deeper, row(4, author_id=2**64 - 1))})
    assert set(rows) == {str(2**63 + 5), "12345678901234567890123", "p4"}  # exactly as written
    assert s["quarantined"] == {"json_too_deep": 2}


def test_parquet_nested_binary_and_decimal_values(tmp_path):
    t = pa.table({"post_id": ["p1", "p2", "p3"], "platform": ["weibo"] * 3, "author_id": ["u1", "u2", "u3"],
                  "text": pa.array([[b"\xff"], None, [b"ok"]], pa.list_(pa.binary())),
                  "content": ["文本一号很长", "文本二号很长", "文本三号很长"],
                  "created_at": [TS] * 3, "label": pa.array([Decimal("1"), None, Decimal("0")], pa.decimal128(3, 0))})
    buf = io.BytesIO()
    pq.write_table(t, buf)
    s, rows = ingest(tmp_path, {"a.parquet": buf.getvalue()})
    assert set(rows) == {"p2"} and rows["p2"]["text"] == "文本二号很长"  # a list is not text: no fallback to content
    assert s["quarantined"] == {"wrong_type:text": 2}


def test_duplicated_csv_header_and_cr_only_line_ends(tmp_path):
    dup = "post_id,platform,author_id,text,text,created_at\np1,weibo,u1,一样的文本,一样的文本,2026-11-20T01:00:00Z\n" \
          "p2,weibo,u2,甲文本,乙文本,2026-11-20T02:00:00Z\n"
    cr = "post_id,platform,author_id,text,created_at\rp3,weibo,u3,老式换行的文件,2026-11-20T03:00:00Z\r"
    s, rows = ingest(tmp_path, {"a.csv": dup.encode(), "b.csv": cr.encode()})
    assert set(rows) == {"p1", "p3"} and s["quarantined"] == {"ambiguous_field:text": 1}


# -- silent damage -------------------------------------------------------------------------------------------

def test_a_stray_csv_quote_swallows_nothing(tmp_path):
    data = (b'post_id,platform,author_id,text,created_at\n'
            b'bad1,weibo,u1,"unclosed quote,2026-11-20T01:00:00Z\n'
            b'good1,weibo,u2,a fine post,2026-11-20T02:00:00Z\n'
            b'good2,weibo,u3,another fine post,2026-11-20T03:00:00Z\n')
    s, rows = ingest(tmp_path, {"a.csv": data})
    assert set(rows) == {"good1", "good2"} and s["quarantined"] == {"malformed_csv": 1}
    q = lake.read_quarantine(str(tmp_path / "lake"), lake.date.fromisoformat(DAY))
    assert q[0]["raw"] == 'bad1,weibo,u1,"unclosed quote,2026-11-20T01:00:00Z'  # the original line, exactly


def test_date_like_texts_and_ids_are_not_rewritten(tmp_path):
    objs = [row(i, post_id=f"2026-12-0{i}", text=f"2026-12-01T00:00:0{i}") for i in range(1, 4)]
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(*objs)}, text_dedupe_min_chars=100)
    assert set(rows) == {"2026-12-01", "2026-12-02", "2026-12-03"}
    assert rows["2026-12-02"]["text"] == "2026-12-01T00:00:02"


def test_stock_replies_repeat_but_copypasta_posts_do_not(tmp_path):
    """A short reply said in many threads ('what about you?') keeps its thread; a repeated post or long reply is
    copypasta."""
    stock, spam = "what about you?", "Buy followers now at our shop, best prices, DM for details!!"
    objs = [row(1, text="first thread opener"), row(2, text="second thread opener"),
            row(3, text=stock, parent_id="p1"), row(4, text=stock, parent_id="p2"),
            row(5, text=spam, parent_id="p1"), row(6, text=spam, parent_id="p2"),
            row(7, text="a repeated top-level post"), row(8, text="a repeated top-level post")]
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(*objs)})
    assert set(rows) == {"p1", "p2", "p3", "p4", "p5", "p7"} and s["quarantined"] == {"duplicate_text": 2}


def test_invalid_utf8_in_a_csv_header_loses_no_row(tmp_path):
    data = b"post_id,platform,author_id,text,created_at,n\xffote\np1,weibo,u1,first row,2026-11-20T01:00:00Z,x\n"
    s, rows = ingest(tmp_path, {"a.csv": data})
    assert set(rows) == {"p1"} and s["quarantined_total"] == 0


def test_sub_microsecond_parquet_timestamps_keep_the_file(tmp_path):
    ns = pa.array([1795161600_000_000_123 + i * 1_000_000_000 for i in range(82)], pa.timestamp("ns", "UTC"))
    t = pa.table({"post_id": [f"p{i}" for i in range(82)], "platform": ["weibo"] * 82,
                  "author_id": [f"u{i}" for i in range(82)], "text": [f"纳秒时间的帖子 {i}" for i in range(82)],
                  "created_at": ns})
    buf = io.BytesIO()
    pq.write_table(t, buf)
    s, rows = ingest(tmp_path, {"a.parquet": buf.getvalue()})
    assert len(rows) == 82 and s["input_rows"] == 82


@pytest.mark.parametrize("value", [["a", "list"], {"an": "object"}, 42, 3.5, True])
def test_text_of_the_wrong_type_is_quarantined_and_number_ids_are_kept(tmp_path, value):
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(row(1, text=value), row(2, post_id=2, author_id=7))})
    assert s["quarantined"] == {"wrong_type:text": 1} and set(rows) == {"2"}


def test_quarantine_and_data_commit_together_and_old_files_outlive_readers(tmp_path, monkeypatch):
    first, _ = ingest(tmp_path, {"a.jsonl": jsonl(row(1), b"{broken")})
    old_manifest = lake.read_manifest(first["partition_uri"])
    old_files = [storage.join(first["partition_uri"], f) for f in old_manifest["files"]]
    storage.write_bytes(str(tmp_path / "landing" / f"dt={DAY}" / "b.jsonl"), jsonl(row(2), b"{also broken"))

    monkeypatch.setattr(storage, "write_bytes", _kill_on_manifest(storage.write_bytes))
    with pytest.raises(KeyboardInterrupt):
        ingest_day(IngestConfig.from_dict({"lake_uri": str(tmp_path / "lake"), "day": DAY}),
                   str(tmp_path / "landing" / f"dt={DAY}"))
    monkeypatch.undo()
    assert lake.read_manifest(first["partition_uri"]) == old_manifest  # nothing of the killed run is visible
    assert len(lake.read_quarantine(str(tmp_path / "lake"), lake.date.fromisoformat(DAY))) == 1
    second = ingest_day(IngestConfig.from_dict({"lake_uri": str(tmp_path / "lake"), "day": DAY}),
                        str(tmp_path / "landing" / f"dt={DAY}"))
    assert second["rows"] == 2 and second["quarantined_total"] == 2
    assert all(storage.exists(f) for f in old_files)  # a reader of the previous manifest can still read


def _kill_on_manifest(write):
    def wrapped(uri, data):
        if uri.endswith("_manifest.json"):
            raise KeyboardInterrupt("killed before the manifest")
        return write(uri, data)
    return wrapped


# -- what was missing ----------------------------------------------------------------------------------------

def test_compressed_drops_are_read(tmp_path):
    csv = "post_id,platform,author_id,text,created_at\np4,weibo,u4,压缩的表格,2026-11-20T04:00:00Z\n".encode()
    s, rows = ingest(tmp_path, {"a.jsonl.gz": gzip.compress(jsonl(row(1))), "b.ndjson.bz2": bz2.compress(jsonl(row(2))),
                                "c.jsonl.zst": _zstd(jsonl(row(3))), "d.csv.gz": gzip.compress(csv)})
    assert set(rows) == {"p1", "p2", "p3", "p4"} and s["quarantined_total"] == 0


def _zstd(data: bytes) -> bytes:
    out = pa.BufferOutputStream()
    with pa.CompressedOutputStream(out, "zstd") as f:
        f.write(data)
    return out.getvalue().to_pybytes()


def test_a_decompression_bomb_is_quarantined_whole(tmp_path):
    bomb = gzip.compress(b"{" + b" " * (5 << 20) + b"}\n")
    s, rows = ingest(tmp_path, {"bomb.jsonl.gz": bomb, "ok.jsonl": jsonl(row(1))}, max_file_bytes=1 << 20)
    assert set(rows) == {"p1"} and s["quarantined"] == {"file_too_large": 1}


def test_naive_timestamps_take_the_sources_time_zone(tmp_path):
    objs = [row(1, created_at="2026-11-20 07:30:00"), row(2, platform="twitter", created_at="2026-11-20T07:30:00"),
            row(3, created_at="2026-11-20 06:30:00")]
    s, rows = ingest(tmp_path, {"a.jsonl": jsonl(*objs)}, naive_timezones={"weibo": "Asia/Shanghai"})
    assert "p1" not in rows and "p3" not in rows
    assert s["quarantined"] == {"created_at_outside_partition_day": 2}  # 07:30 and 06:30 Beijing = the day before
    assert rows["p2"]["created_at"].isoformat() == "2026-11-20T07:30:00+00:00"  # twitter: naive = UTC


def test_a_reader_that_dies_on_a_file_costs_only_that_file():
    """A real native crash (pyarrow's JSON reader on a lone ``null`` still segfaults) in a child process."""
    from ingestion import isolation
    from tests.ingestion import crashers

    out = isolation.run(crashers.arrow_read_json, [b'{"a": 1}\n', b"null\n", b'{"a": 2}\n{"a": 3}\n'], 2)
    assert out[0] == 1 and out[1] is isolation.CRASHED and out[2] == 2
