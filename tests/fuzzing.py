"""Hostile landing drops for property tests (tests/ingestion/test_fuzz.py) and bench/fuzz.py.

A drop mixes *valid* rows (unique ids and texts, text already clean, so ingest must keep them exactly) with
hostile rows and lines: JSON values of every type in every field, huge and odd numbers, deep nesting, random
bytes, non-objects, duplicate keys, stray CSV quotes, CR line ends, BOMs, invalid UTF-8, Parquet columns of
odd types, compressed files, and PII planted in valid texts (which must come back redacted).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import random
import string

import pyarrow as pa
import pyarrow.parquet as pq

DAY = "2026-11-20"
DAY_EPOCH = 1795132800  # 2026-11-20T00:00:00Z
PLATFORMS = ("weibo", "twitter", "douyin", "reddit")
_ZH = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
# Nothing NFKC would change, no "." (random letters around a dot can spell a domain) and none of q, v, w, x
# (random letters can spell "qq", "vx", "wx": messenger ids follow them and are redacted).
_SAFE = "".join(c for c in string.ascii_letters if c.lower() not in "qvwx") + _ZH + "。、,!?"
PII = ["13812345678", "someone@example.com", "https://t.example.com/x", "110105194912310021"]


def _text(rng: random.Random, i: int) -> str:
    words = ["".join(rng.choice(_SAFE) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 6))]
    marker = "".join(chr(ord("a") + int(d)) for d in str(i))  # unique, and no digits that could spell a phone
    return f"post{marker} " + " ".join(words)  # clean: single spaces, nothing NFKC changes, no PII


def valid_row(rng: random.Random, i: int) -> dict:
    ts = DAY_EPOCH + rng.randint(0, 86399)
    created = rng.choice([f"2026-11-20T{(ts - DAY_EPOCH) // 3600:02d}:{(ts % 3600) // 60:02d}:{ts % 60:02d}Z", ts,
                          ts * 1000, f"{ts}"])
    row = {"post_id": f"v{i}", "platform": rng.choice(PLATFORMS), "author_id": f"a{rng.randint(0, 50)}",
           "text": _text(rng, i), "created_at": created}
    if rng.random() < 0.3:
        row["label"] = rng.choice(["negative", "neutral", "positive"])
    return row


def _json_value(rng: random.Random, depth: int = 0):
    kind = rng.randint(0, 11)
    if kind == 0 or depth > 3:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([2**63, 2**64 - 1, 2**64 + 7, -2**63 - 1, 10**30, 0, -1])
    if kind == 2:
        return rng.choice([1.5, -0.0, 1e308, 3.0, 1e-300])
    if kind == 3:
        return "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 20)))
    if kind == 4:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 5:
        return {rng.choice(["text", "a", "post_id"]): _json_value(rng, depth + 1)}
    if kind == 6:
        return rng.choice(["2026-12-01", "2026-12-01T00:00:00Z", "1795189283146", "NaN", "", "   ", "\x00"])
    if kind == 7:
        return "x" * rng.choice([300, 9000])
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 12)))


def hostile_line(rng: random.Random, i: int) -> bytes:
    kind = rng.randint(0, 9)
    if kind == 0:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 40)))
    if kind == 1:
        return rng.choice([b"null", b"[]", b"1", b'"x"', b"true", b"{", b"}", b"{}"])
    if kind == 2:
        return b'{"post_id": "h%d", "x": ' % i + b"[" * rng.choice([70, 3000, 100_000]) + b"]" * 10 + b"}"
    if kind == 3:
        return b'{"post_id": "h%d", "post_id": "dup", "text": "a"}' % i
    row = valid_row(rng, i)
    row["post_id"] = f"h{i}"
    field = rng.choice(list(row) + ["id", "content", "mid"])
    row[field] = _json_value(rng)
    if rng.random() < 0.2:
        del row[rng.choice(list(row))]
    return json.dumps(row, ensure_ascii=rng.random() < 0.5).encode()


def _csv_cell(v) -> str:
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n\r') else s


def _csv(rng: random.Random, valid: list[dict], n_hostile: int, start: int) -> bytes:
    cols = ["post_id", "platform", "author_id", "text", "created_at", "label"]
    header = ",".join(cols)
    if rng.random() < 0.2:
        header = "\ufeff" + header
    lines = [header]
    rows = [(r, True) for r in valid] + [(None, False)] * n_hostile
    rng.shuffle(rows)
    for k, (r, ok) in enumerate(rows):
        if ok:
            lines.append(",".join(_csv_cell(r.get(c)) for c in cols))
            continue
        kind = rng.randint(0, 4)
        if kind == 0:
            lines.append(f'h{start + k},weibo,u1,"unclosed quote,{DAY}T01:00:00Z,')
        elif kind == 1:
            lines.append(",".join(_csv_cell(_json_value(rng)) for _ in range(rng.randint(1, 8))))
        elif kind == 2:
            lines.append("\x00\x01 control chars,,,,")
        else:
            lines.append(f'h{start + k},weibo,u2,"multi\nline ""quoted"" text",{DAY}T02:00:00Z,positive')
    body = ("\r\n" if rng.random() < 0.3 else "\n").join(lines) + "\n"
    data = body.encode()
    if rng.random() < 0.15:  # invalid UTF-8 somewhere after the header
        pos = data.index(b"\n") + 1
        data = data[:pos] + b"\xff\xfe,broken\n" + data[pos:]
    if rng.random() < 0.1 and b"\n" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")  # CR-only line ends
    return data


def _parquet(rng: random.Random, valid: list[dict], n_hostile: int, start: int) -> bytes:
    rows = [dict(r, created_at=str(r["created_at"])) for r in valid]
    for k in range(n_hostile):
        r = dict(valid_row(rng, start + k), post_id=f"h{start + k}")
        r["created_at"] = str(r["created_at"])
        rows.append(r)
    cols = {c: [r.get(c) for r in rows] for c in ("post_id", "platform", "author_id", "text", "created_at", "label")}
    table = pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})
    if n_hostile and rng.random() < 0.5:  # an odd type in a mapped column: every row gets it
        odd = rng.choice([pa.array([[1]] * len(rows), pa.list_(pa.int64())), pa.array([b"\xff"] * len(rows)),
                          pa.array([1.5] * len(rows)), pa.array([True] * len(rows))])
        table = table.set_column(3, "text", odd)
        valid.clear()  # no row of this file can be valid any more
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def drop(seed: int, n_valid: int = 12, n_hostile: int = 8) -> tuple[dict[str, bytes], list[dict]]:
    """({file name: bytes}, the valid rows, which ingest must keep exactly)."""
    rng = random.Random(seed)
    files, valid_all, i = {}, [], seed * 10_000
    for f in range(rng.randint(1, 3)):
        valid = [valid_row(rng, i + k) for k in range(rng.randint(0, n_valid))]
        for r in valid[: rng.randint(0, 2)]:  # PII that must come back redacted
            r["text"] += " " + rng.choice(PII)
        i += len(valid)
        fmt = rng.choice(["jsonl", "jsonl", "csv", "parquet"])
        if fmt == "jsonl":
            lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5).encode() for r in valid]
            lines += [hostile_line(rng, i + k) for k in range(rng.randint(0, n_hostile))]
            rng.shuffle(lines)
            data = (b"\r\n" if rng.random() < 0.2 else b"\n").join(lines) + b"\n"
        elif fmt == "csv":
            data = _csv(rng, valid, rng.randint(0, n_hostile), i)
        else:
            data = _parquet(rng, valid, rng.randint(0, n_hostile), i)
        i += n_hostile
        name, codec = f"f{f}.{fmt}", rng.choice([None, None, "gz", "bz2"])
        if codec == "gz":
            name, data = name + ".gz", gzip.compress(data)
        elif codec == "bz2":
            name, data = name + ".bz2", bz2.compress(data)
        files[name] = data
        valid_all += valid
    return files, valid_all


def decompressed(name: str, data: bytes) -> bytes:
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    return data


def problems(files: dict[str, bytes], valid: list[dict], summary: dict, out: dict[str, dict]) -> list[str]:
    """What went wrong with one ingested drop: lost rows, silent damage, leaked PII (empty = nothing)."""
    found = []
    if summary["input_rows"] != summary["rows"] + summary["quarantined_total"]:
        found.append(f"accounting: {summary['input_rows']} != {summary['rows']} + {summary['quarantined_total']}")
    for v in valid:
        r = out.get(v["post_id"])
        if r is None:
            found.append(f"lost valid row {v['post_id']}")
            continue
        base = v["text"].rsplit(" ", 1)[0] if any(v["text"].endswith(p) for p in PII) else v["text"]
        if r["platform"] != v["platform"] or not r["text"].startswith(base):
            found.append(f"damaged {v['post_id']}: {r['platform']!r} {r['text']!r} vs {v['platform']!r} {v['text']!r}")
        if any(p in r["text"] for p in PII):
            found.append(f"PII left in {v['post_id']}: {r['text']!r}")
    raw = b"".join(decompressed(n, d) for n, d in files.items() if ".parquet" not in n)
    written = {str(v) for n, d in files.items() if ".parquet" in n
               for v in pq.read_table(io.BytesIO(decompressed(n, d))).column("post_id").to_pylist()}
    for pid in out:
        if pid not in written and pid.encode() not in raw and json.dumps(pid)[1:-1].encode() not in raw:
            found.append(f"post_id {pid!r} is not in the input as written")
    return found
