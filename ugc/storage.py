"""One storage API over a local directory and ``s3://`` (boto3, any S3-compatible endpoint).

Every stage reads and writes through these functions so that the same code runs against
``./data/lake`` in a laptop demo and ``s3://bucket/lake`` in production. URIs without a
scheme are local paths.

The S3 endpoint comes from ``UGC_S3_ENDPOINT_URL`` (then boto3's own ``AWS_ENDPOINT_URL``
resolution), so MinIO, Ceph, moto or AWS all work unchanged.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_S3 = "s3://"


class StorageError(RuntimeError):
    """A storage operation failed (missing object, unreachable endpoint, bad URI)."""


@dataclass(frozen=True)
class _S3Loc:
    bucket: str
    key: str


def is_s3(uri: str) -> bool:
    return uri.startswith(_S3)


def join(base: str, *parts: str) -> str:
    """Join URI parts with '/', for local paths and s3:// alike."""
    out = base.rstrip("/")
    for p in parts:
        p = p.strip("/")
        if p:
            out = f"{out}/{p}"
    return out


def _split_s3(uri: str) -> _S3Loc:
    rest = uri[len(_S3):]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise StorageError(f"invalid S3 URI (no bucket): {uri!r}")
    return _S3Loc(bucket, key)


_client_lock = threading.Lock()


@lru_cache(maxsize=8)
def _client_for(endpoint: str | None, region: str | None):
    import boto3  # imported lazily: importing this module must stay cheap
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or "us-east-1", config=cfg)


def s3_client():
    """The boto3 S3 client for the configured endpoint (cached per endpoint)."""
    endpoint = os.environ.get("UGC_S3_ENDPOINT_URL") or None
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    with _client_lock:
        return _client_for(endpoint, region)


def _s3_call(fn, uri: str, **kw):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kw)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise FileNotFoundError(uri) from e
        raise StorageError(f"S3 error on {uri}: {code or e}") from e
    except BotoCoreError as e:
        raise StorageError(f"S3 endpoint error on {uri}: {e}") from e


def read_bytes(uri: str) -> bytes:
    """Read a whole object/file; raises FileNotFoundError when it does not exist."""
    if is_s3(uri):
        loc = _split_s3(uri)
        resp = _s3_call(s3_client().get_object, uri, Bucket=loc.bucket, Key=loc.key)
        return resp["Body"].read()
    return Path(uri).read_bytes()


def write_bytes(uri: str, data: bytes) -> None:
    """Write atomically: readers see the old content or the new, never a partial file.

    Locally: temp file in the same directory + fsync + os.replace. S3 PUTs are atomic per object.
    """
    if is_s3(uri):
        loc = _split_s3(uri)
        _s3_call(s3_client().put_object, uri, Bucket=loc.bucket, Key=loc.key, Body=data)
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exists(uri: str) -> bool:
    if is_s3(uri):
        loc = _split_s3(uri)
        try:
            _s3_call(s3_client().head_object, uri, Bucket=loc.bucket, Key=loc.key)
            return True
        except FileNotFoundError:
            return False
    return Path(uri).exists()


def delete(uri: str) -> None:
    """Delete one object/file; missing is not an error."""
    if is_s3(uri):
        loc = _split_s3(uri)
        _s3_call(s3_client().delete_object, uri, Bucket=loc.bucket, Key=loc.key)
        return
    Path(uri).unlink(missing_ok=True)


def list_files(prefix: str, recursive: bool = True) -> list[str]:
    """All file URIs under a directory/prefix, sorted. Hidden temp files ('.name.tmp') are skipped."""
    if is_s3(prefix):
        loc = _split_s3(prefix.rstrip("/") + "/")
        paginator = s3_client().get_paginator("list_objects_v2")
        kw = {"Bucket": loc.bucket, "Prefix": loc.key}
        if not recursive:
            kw["Delimiter"] = "/"
        out = []
        for page in _s3_call(lambda **k: list(paginator.paginate(**k)), prefix, **kw):
            out += [f"{_S3}{loc.bucket}/{o['Key']}" for o in page.get("Contents", [])]
        return sorted(u for u in out if not u.rsplit("/", 1)[-1].startswith("."))
    root = Path(prefix)
    if not root.is_dir():
        return []
    it = root.rglob("*") if recursive else root.iterdir()
    return sorted(str(p) for p in it if p.is_file() and not p.name.startswith("."))


def list_dirs(prefix: str) -> list[str]:
    """Immediate sub-directory names (not URIs) under a directory/prefix, sorted."""
    if is_s3(prefix):
        loc = _split_s3(prefix.rstrip("/") + "/")
        paginator = s3_client().get_paginator("list_objects_v2")
        pages = _s3_call(
            lambda **k: list(paginator.paginate(**k)), prefix, Bucket=loc.bucket, Prefix=loc.key, Delimiter="/"
        )
        names = {cp["Prefix"][len(loc.key):].strip("/") for p in pages for cp in p.get("CommonPrefixes", [])}
        return sorted(names)
    root = Path(prefix)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def ensure_bucket(uri: str) -> None:
    """Create the bucket of an s3:// URI if missing (demo/test setup; production buckets pre-exist)."""
    if not is_s3(uri):
        Path(uri).mkdir(parents=True, exist_ok=True)
        return
    loc = _split_s3(uri)
    client = s3_client()
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=loc.bucket)
    except ClientError:
        _s3_call(client.create_bucket, uri, Bucket=loc.bucket)
