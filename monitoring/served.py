"""The production model as Triton serves it, run in this process: in-process scoring without torch.

Deploy publishes a release of the ``sentiment`` ensemble per registry version (``model.json`` names it) with the
files its ``sentiment_classifier`` step runs: the variant chosen by measurement and gated against torch (int8, the
cascade, bf16 or fp32), the tokenizer(s), the routing rule and ``runners.py``, which tokenizes, length-buckets
and runs them. ``open_release`` finds the newest release of a registry version in the model repository and
loads its ``runners.py`` by path (not serving's package module: a stage imports only the core, and the
published copy is the one deploy checked), so in-process scores are the served model's answers: the same
variant, the same code, no gRPC, and torch only when the variant is bf16. It runs ``instances`` copies side by
side, one thread each, as Triton runs one instance per core (one instance on every core's threads served
~60 % as much: README "Serving on Triton").

A repository with no release of the version (never deployed, a deploy lagging a promotion, the GPU layout,
which has no classifier step) is a ``NoRelease`` naming why; callers then fall back to torch and say so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ugc import settings, storage

ENSEMBLE, CLASSIFIER = "sentiment", "sentiment_classifier"  # serving/sentiment_deploy.py's model names


class NoRelease(LookupError):
    """The model repository cannot stand in for the registry version (the message says why)."""


def find_release(repo: str, registry_version: str) -> int:
    """The newest release number whose ensemble names ``registry_version`` and that has a classifier step."""
    if not repo:
        raise NoRelease("no model repository configured (UGC_MODEL_REPOSITORY)")
    found = []  # releases of the version without a classifier step, newest first
    # Newest first, stopping at the first that serves: a repository keeps every release it ever published.
    releases = sorted((int(v) for v in storage.list_dirs(storage.join(repo, ENSEMBLE)) if v.isdigit()), reverse=True)
    for v in releases:  # (a name that is not a number is a local publish's staging directory)
        try:
            meta = json.loads(storage.read_bytes(storage.join(repo, ENSEMBLE, str(v), "model.json")))
        except (FileNotFoundError, ValueError):
            continue
        if meta.get("registry_version") != registry_version:
            continue
        if storage.exists(storage.join(repo, CLASSIFIER, str(v), "runners.py")):
            return v
        found.append(v)
    raise NoRelease(f"{repo} holds no CPU release of {registry_version}" + (
        f" (releases {sorted(found)} have no {CLASSIFIER} step: the GPU layout)" if found else ""))


def local_release(repo: str, release: int, meta: bytes = b"") -> str:
    """The classifier's release directory on local disk: the repository's own when local; from S3, fetched once
    into UGC_MODEL_CACHE (whole, then renamed into place, so a crash never leaves half a release to load). The
    cached copy is keyed by the release's ``model.json`` too: a rolled-back release number is published again
    by the next deploy, perhaps with another model or variant."""
    src = storage.join(repo, CLASSIFIER, str(release))
    if not storage.is_s3(repo):
        return src
    key = hashlib.sha1(repo.encode()).hexdigest()[:10]
    dest = os.path.join(settings.MODEL_CACHE.get(), "triton", key, f"{release}-{hashlib.sha1(meta).hexdigest()[:12]}")
    if os.path.isdir(dest):
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".fetch-", dir=os.path.dirname(dest))
    for uri in storage.list_files(src):
        path = os.path.join(stage, uri[len(src.rstrip("/")) + 1:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(storage.read_bytes(uri))
    try:
        os.rename(stage, dest)
    except OSError:  # another worker fetched it meanwhile: theirs is as good
        shutil.rmtree(stage, ignore_errors=True)
    return dest


def _runners(version_dir: str):
    path = os.path.join(version_dir, "runners.py")
    spec = importlib.util.spec_from_file_location(f"_ugc_served_runners_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Release:
    """A loaded release: ``probs(texts)`` / ``embed(texts)`` as the served classifier answers them."""
    release: int
    labels: list[str]
    max_length: int
    variant: object                      # deploy's choice: a name, or {expert: name} for a routed model
    copies: list = field(repr=False)     # runners.Served copies, one per instance

    def _run(self, texts: list[str], embeddings: bool):
        chunks = max(1, len(self.copies))
        if chunks == 1 or len(texts) < 256:  # a few batches' worth: not worth a thread pool and a split
            return self.copies[0](texts, embeddings)
        # Interleaved halves rather than contiguous ones: a day's texts can be sorted (by platform, by time), and
        # each copy should get the same mix of lengths. Each copy is called by one thread only.
        idx = [np.arange(i, len(texts), chunks) for i in range(chunks)]
        with ThreadPoolExecutor(chunks) as pool:
            outs = list(pool.map(lambda k: self.copies[k]([texts[i] for i in idx[k]], embeddings), range(chunks)))
        parts = list(zip(*outs, strict=True)) if embeddings else [outs]
        merged = []
        for part in parts:
            out = np.empty((len(texts), part[0].shape[1]), np.float32)
            for k, p in enumerate(part):
                out[idx[k]] = p
            merged.append(out)
        return tuple(merged) if embeddings else merged[0]

    def probs(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        return self._run(texts, False)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), np.float32)
        return self._run(texts, True)[1]


def open_release(repo: str, registry_version: str, instances: int = 2) -> Release:
    """The newest release of ``registry_version`` in ``repo``, loaded as ``instances`` single-threaded copies."""
    release = find_release(repo, registry_version)
    raw = storage.read_bytes(storage.join(repo, ENSEMBLE, str(release), "model.json"))
    meta = json.loads(raw)
    d = local_release(repo, release, raw)
    with open(os.path.join(d, "label_map.json"), encoding="utf-8") as f:
        label_map = json.load(f)
    runners = _runners(d)
    served = [runners.Served(d, label_map["max_length"], threads=1) for _ in range(max(1, instances))]
    return Release(release, list(label_map["labels"]), label_map["max_length"], meta.get("variant"), served)
