"""Leakage-free, seed-independent splits and split files, shared by every trainer.

A row's side (train / val / test) is decided by a salted hash of its group key (an author, a text hash, a
source post), so it never moves when more data arrives and never depends on the training seed.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from ugc import storage

# Rows whose post_id starts with this are reserved evaluation data (a public data set's held-out slice):
# never in a train, validation or test split (ingestion/public_data.py writes them, training/data.py obeys).
RESERVED_PREFIX = "heldout:"


def buckets(keys: pa.Array, salt: str) -> np.ndarray:
    """Stable bucket in [0, 1) per group key, independent of seed and of which rows are present."""
    return np.array([xxhash.xxh3_64_intdigest(f"{salt}:{k}".encode()) / 2**64 for k in keys.to_pylist()])


def table_bytes(t: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(t, buf, compression="zstd")
    return buf.getvalue()


def write_split(uri: str, table: pa.Table) -> str:
    """Write ``table`` as zstd Parquet to ``uri``; returns the first 16 hex digits of its sha256."""
    body = table_bytes(table)
    storage.write_bytes(uri, body)
    return hashlib.sha256(body).hexdigest()[:16]


def read_split(uri: str) -> pa.Table:
    return pq.read_table(io.BytesIO(storage.read_bytes(uri)))


def reserved(post_ids: pa.Array) -> pa.Array:
    """Boolean mask of reserved rows."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.starts_with(post_ids, RESERVED_PREFIX), False)
