"""The CSV fast path (Arrow on runs of one-line records) reads every file exactly as the Python reader does."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingestion import csvfast, tabular

_HEADERS = [b"post_id,platform,author_id,text,created_at,parent_id,label",
            b"id,platform,user,content,ts,text",  # two text columns: ambiguous where they differ
            b"id,post_id,content,text,site,platform",  # two fields ambiguous: the first one is named
            b'"post_id","platform","author_id","text","created_at"', b"", b"text"]
_CELLS = st.sampled_from(["p1", "weibo", "", "hello, world", 'say "hi"', "多行\n文本", "a\rb", "x\x00y", "  ", "😀",
                          "2026-11-20T01:00:00Z", "positive", '"', ",", "\r\n"])


def _line(cells: list[str], style: str) -> bytes:
    if style == "quote-all":
        return ",".join('"' + c.replace('"', '""') + '"' for c in cells).encode()
    if style == "minimal":
        return ",".join('"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\r\n') else c
                        for c in cells).encode()
    return ",".join(cells).encode()  # raw: stray quotes, broken records, wrong widths


_LINES = st.one_of(
    st.builds(_line, st.lists(_CELLS, min_size=1, max_size=8), st.sampled_from(["quote-all", "minimal", "raw"])),
    st.sampled_from([b"", b"\r", b'"unclosed,a,b', b'tail",x,y', b"\xff\xfe,bad", b'"a"b,c', b" ,\t"]),
    st.binary(max_size=20))


def _read(data: bytes, fast: bool) -> tuple:
    with pytest.MonkeyPatch.context() as m:
        if not fast:
            m.setattr(csvfast, "simple_lines", lambda lines: np.zeros(len(lines), dtype=bool))
        table, quarantine = tabular.read_csv("s3://b/a.csv", data).finish()
    return table.to_pylist(), quarantine


@settings(max_examples=300, deadline=None)
@example(b"id,post_id,content,text,site,platform", [b"a,b,c,d,e,f"], b"\n")  # two clashes: the first is named
@given(st.sampled_from(_HEADERS), st.lists(_LINES, max_size=25), st.sampled_from([b"\n", b"\r\n"]))
def test_fast_path_reads_like_the_python_reader(header, lines, eol):
    data = eol.join([header, *lines]) + eol
    assert _read(data, True) == _read(data, False)


def test_simple_lines_go_to_arrow_and_the_rest_to_python(monkeypatch):
    data = (b"post_id,platform,author_id,text,created_at\n"
            b'p1,weibo,u1,"hello, ""you""",2026-11-20T01:00:00Z\n'
            b'p2,weibo,u2,"two\nlines",2026-11-20T02:00:00Z\n'   # a record over two lines: Python
            b"p3,weibo,u3,short\n"                                # wrong width: quarantined by its line
            b"p4,weibo,u4,plain,2026-11-20T04:00:00Z\n")
    runs = []
    real = csvfast.FastLines.take_run
    monkeypatch.setattr(csvfast.FastLines, "take_run", lambda self, k: runs.append(k) or real(self, k))
    table, quarantine = tabular.read_csv("a.csv", data).finish()
    assert runs == [0, 3]  # data lines 0 and 3-5 (blank last line included) are Arrow's; 1-2 is Python's record
    rows = table.to_pylist()
    assert [r["post_id"] for r in rows] == ["p1", "p2", "p4"] and rows[0]["text"] == 'hello, "you"'
    assert rows[1]["text"] == "two\nlines" and [r["_row"] for r in rows] == [2, 3, 6]
    assert [(q["reason"], q["row"], q["raw"]) for q in quarantine] == [("malformed_csv", 5, "p3,weibo,u3,short")]
    assert rows[2]["_off"] == data.index(b"p4") and rows[2]["_len"] == len(b"p4,weibo,u4,plain,2026-11-20T04:00:00Z")


@pytest.mark.parametrize("line,simple", [
    (b'a,"b,c",d', True), (b'"a""b",c\r', True), (b"", True), (b'"open,b', False), (b'a"b,c', False),
    (b'"a"b,c', False), (b"a\rb,c", False), (b"a\x00,b", False), (b'"a\rb",c', False)])
def test_simple_line_grammar(line, simple):
    import pyarrow as pa

    assert csvfast.simple_lines(pa.array([line.decode()])).tolist() == [simple]
