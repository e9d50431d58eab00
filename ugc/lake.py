"""Lake layout and atomic partition publishing.

    {lake}/posts/dt=YYYY-MM-DD/part-<sha>.parquet          content-addressed data file
    {lake}/posts/dt=YYYY-MM-DD/_manifest.json              the commit point: lists the live data and quarantine
    {lake}/posts/dt=YYYY-MM-DD/_validation/                GX results + Data Docs
    {lake}/quarantine/dt=YYYY-MM-DD/quarantine-<sha>.jsonl content-addressed quarantine of the same run

Readers go through the manifest, so a partition is never seen half-written on a local disk or on S3 (where
there is no directory rename): the data and quarantine files are written first under names no reader knows,
then one atomic manifest write publishes both together (a run killed before it leaves nothing visible).
Files of the previous manifest are kept for readers that opened it a moment ago; anything older is deleted
when the next run publishes.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from ugc import storage

MANIFEST = "_manifest.json"
SCHEMA_VERSION = 2  # 2: label_confidence (partitions of version 1 read with it null)

# The canonical post schema every partition follows (ingestion writes it; every other stage reads it).
POST_SCHEMA = pa.schema(
    [
        pa.field("post_id", pa.string(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
        pa.field("author_id", pa.string(), nullable=False),  # salted sha256, never the raw id
        pa.field("text", pa.string(), nullable=False),  # cleaned + PII-redacted
        pa.field("lang", pa.string(), nullable=False),  # vocab.LANGS
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("label", pa.string()),  # vocab.LABELS or null
        pa.field("label_confidence", pa.float32()),  # annotator agreement in [0, 1] where a source gives one
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("text_hash", pa.uint64(), nullable=False),  # hash of casefolded cleaned text
        pa.field("pii_count", pa.int32(), nullable=False),
    ]
)
POST_COLUMNS = tuple(POST_SCHEMA.names)


def partition_uri(lake: str, day: date) -> str:
    return storage.join(lake, "posts", f"dt={day.isoformat()}")


def _quarantine_dir(lake: str, day: date) -> str:
    return storage.join(lake, "quarantine", f"dt={day.isoformat()}")


def quarantine_body(records: list[dict]) -> tuple[str, bytes]:
    """(file name, bytes) of a quarantine: JSON lines sorted, so reruns give identical, same-named files."""
    records = sorted(records, key=lambda r: (r["source_file"], r["row"], r["reason"]))
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode("utf-8")
    return f"quarantine-{hashlib.sha256(body).hexdigest()[:16]}.jsonl", body


def quarantine_uri(lake: str, day: date, name: str) -> str:
    return storage.join(_quarantine_dir(lake, day), name)


def read_quarantine(lake: str, day: date) -> list[dict]:
    """The quarantine records the day's published manifest names."""
    name = read_manifest(partition_uri(lake, day)).get("quarantine_file")
    if not name:
        return []
    return [json.loads(ln) for ln in storage.read_bytes(quarantine_uri(lake, day, name)).decode().splitlines()]


def _prune(directory: str, prefix: str, keep: set[str]) -> None:
    for f in storage.list_files(directory, recursive=False):
        name = f.rsplit("/", 1)[-1]
        if name.startswith(prefix) and name not in keep:
            storage.delete(f)


def write_partition(lake: str, day: date, table: pa.Table, extra: dict, quarantine: list[dict] | None = None) -> dict:
    """Publish ``table`` and its ``quarantine`` as the day's partition, in one commit; returns the manifest."""
    uri = partition_uri(lake, day)
    try:
        previous = read_manifest(uri)
    except FileNotFoundError:
        previous = {}
    buf = io.BytesIO()
    # Fixed writer options: the same rows give the same bytes, hence the same file name.
    pq.write_table(table.cast(POST_SCHEMA), buf, compression="zstd", row_group_size=256_000)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    name = f"part-{sha[:16]}.parquet"
    storage.write_bytes(storage.join(uri, name), data)
    q_name, q_body = quarantine_body(quarantine or [])
    storage.write_bytes(quarantine_uri(lake, day, q_name), q_body)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "dt": day.isoformat(),
        "files": [name],
        "quarantine_file": q_name,
        "rows": table.num_rows,
        "bytes": len(data),
        "snapshot_id": sha,
        **extra,
    }
    storage.write_bytes(storage.join(uri, MANIFEST), json.dumps(manifest, indent=2, sort_keys=True).encode())
    _prune(uri, "part-", {name, *previous.get("files", [])})
    _prune(_quarantine_dir(lake, day), "quarantine", {q_name, previous.get("quarantine_file", "")})
    return manifest


def read_manifest(partition: str) -> dict:
    try:
        return json.loads(storage.read_bytes(storage.join(partition, MANIFEST)))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"no published partition at {partition} (missing {MANIFEST})") from e


def read_partition(partition: str, columns: list[str] | None = None) -> pa.Table:
    """The rows of a published partition (only the files its manifest lists); columns an older schema version
    did not have come back null."""
    m = read_manifest(partition)
    want = list(columns or POST_COLUMNS)
    tables = []
    for f in m["files"]:
        pf = pq.ParquetFile(io.BytesIO(storage.read_bytes(storage.join(partition, f))))
        have = [c for c in want if c in pf.schema_arrow.names]
        t = pf.read(columns=have)
        for c in want:
            if c not in have:
                t = t.append_column(POST_SCHEMA.field(c), pa.nulls(t.num_rows, POST_SCHEMA.field(c).type))
        tables.append(t.select(want))
    empty = pa.schema([POST_SCHEMA.field(c) for c in want]).empty_table()
    return pa.concat_tables(tables) if tables else empty


def list_partitions(lake: str) -> list[date]:
    """Days with a published partition, ascending."""
    out = []
    for name in storage.list_dirs(storage.join(lake, "posts")):
        if name.startswith("dt="):
            try:
                day = date.fromisoformat(name[3:])
            except ValueError:
                continue
            if storage.exists(storage.join(partition_uri(lake, day), MANIFEST)):
                out.append(day)
    return sorted(out)


