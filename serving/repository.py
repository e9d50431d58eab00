"""Triton model repository layout and atomic version publishing (local directory or s3://).

    {repo}/<model>/config.pbtxt
    {repo}/<model>/<version>/...     written whole: locally staged beside it and renamed into place; on S3
                                     uploaded before anything is told to load it (explicit model control)

Every model config is generated from Triton's ``ModelConfig`` protobuf (``model_config``), never by hand.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ugc import storage


def model_config():
    """Triton's ModelConfig protobuf module (tritonclient ships it)."""
    import tritonclient.grpc.model_config_pb2 as mc

    return mc


def to_text(config) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(config)


def versions(repo: str, model: str) -> list[int]:
    return sorted(int(v) for v in storage.list_dirs(storage.join(repo, model)) if v.isdigit())


def next_version(repo: str, models: tuple[str, ...]) -> int:
    """One number for a release of several models (an ensemble and its steps)."""
    return max([0, *[v for m in models for v in versions(repo, m)]]) + 1


def write_config(repo: str, model: str, text: str) -> None:
    storage.write_bytes(storage.join(repo, model, "config.pbtxt"), text.encode())


def write_version(repo: str, name: str, version: int, body: dict[str, bytes]) -> None:
    """Write {repo}/{name}/{version}/ from {relative path: bytes}: locally staged then renamed (atomic),
    on S3 uploaded before anyone is told to load it."""
    if storage.is_s3(repo):
        for rel, data in body.items():
            storage.write_bytes(storage.join(repo, name, str(version), rel), data)
        return
    os.makedirs(os.path.join(repo, name), exist_ok=True)
    stage = tempfile.mkdtemp(prefix=f".stage-{name}-", dir=os.path.join(repo, name))
    for rel, data in body.items():
        os.makedirs(os.path.dirname(os.path.join(stage, rel)), exist_ok=True)
        with open(os.path.join(stage, rel), "wb") as f:
            f.write(data)
    os.chmod(stage, 0o755)
    os.rename(stage, os.path.join(repo, name, str(version)))  # the version appears whole or not at all


def remove_version(repo: str, version: int, models: tuple[str, ...]) -> None:
    """Delete version ``version`` of every model in ``models`` (rollback of a failed publish)."""
    for name in models:
        d = storage.join(repo, name, str(version))
        if storage.is_s3(repo):
            for f in storage.list_files(d):
                storage.delete(f)
        else:
            shutil.rmtree(d, ignore_errors=True)


def read_files(files: dict[str, str]) -> dict[str, bytes]:
    """{relative name: local path} -> {relative name: bytes}."""
    out = {}
    for rel, src in files.items():
        with open(src, "rb") as f:
            out[rel] = f.read()
    return out


def tree(model_dir: str, prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under ``model_dir`` as {prefix + relative path: bytes}, except names in ``skip``."""
    files = {}
    for root, _, names in os.walk(model_dir):
        for n in names:
            path = os.path.join(root, n)
            rel = os.path.relpath(path, model_dir).replace(os.sep, "/")
            if rel not in skip:
                files[prefix + rel] = path
    return read_files(files)
