"""Model registry in the lake (local or S3): self-describing versions, frozen test sets, an atomic index.

    {lake}/registry/<model>/                    one registry per model ("sentiment", "generator")
        models/<version>/   weights, tokenizer, label_map.json, train_config.json, metrics.json, lineage.json,
                            ... then artifact.json (written last: a version without it is incomplete, invisible)
        testsets/<ts-version>/test.parquet + manifest.json    frozen held-out sets (manifest written last)
        runs/<run_id>/      a run's data, checkpoints and gate decision
        index.json          {"production": <version>|null, "history": [...events]}

Promotion and rollback are one atomic write of index.json, guarded by an expected-current check so a stale
promoter cannot overwrite a newer decision. Callers ask this module for paths; none builds them by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from datetime import UTC, datetime

from ugc import settings, storage

ARTIFACT = "artifact.json"
LABEL_MAP = "label_map.json"
LINEAGE = "lineage.json"
MODELS = ("sentiment", "generator")
# A version name is one path segment of letters, digits, '.', '_' and '-' (new_version makes them start with
# their UTC time so they sort); anything else, "../x" included, is refused before it reaches storage.
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class RegistryError(RuntimeError):
    """The registry is not in the state the operation expected."""


class InvalidVersion(RegistryError):
    """Not a version name (a path, a NUL, 5,000 characters): refused before it reaches storage."""


class VersionNotFound(RegistryError):
    """No complete version of that name in this registry."""


def registry_uri(lake: str, model: str) -> str:
    """Where ``model``'s registry lives in a lake."""
    if model not in MODELS:
        raise KeyError(f"unknown model {model!r}; known: {list(MODELS)}")
    return storage.join(lake, "registry", model)


def new_version(prefix: str, snapshot_id: str) -> str:
    """A fresh version name: ``<prefix><UTC time to the microsecond>-<snapshot>`` (two candidates trained in
    the same second must not collide)."""
    return f"{prefix}{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{snapshot_id[:8]}"


def check_version(version: str) -> str:
    """``version`` when it is a well-formed version name; RegistryError otherwise (never a path)."""
    if not isinstance(version, str) or not VERSION_RE.match(version) or ".." in version:
        raise InvalidVersion(f"not a version name: {str(version)[:80]!r}")
    return version


def model_uri(registry: str, version: str) -> str:
    return storage.join(registry, "models", check_version(version))


def _index_uri(registry: str) -> str:
    return storage.join(registry, "index.json")


def read_index(registry: str) -> dict:
    try:
        return json.loads(storage.read_bytes(_index_uri(registry)))
    except FileNotFoundError:
        return {"production": None, "history": []}


def code_version() -> str:
    """Git commit of the code that trained the model (UGC_CODE_VERSION overrides, e.g. an image tag)."""
    if settings.CODE_VERSION.is_set():
        return settings.CODE_VERSION.get()
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        sha = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain"], capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if sha.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def register(registry: str, model_dir: str, version: str, card: dict) -> str:
    """Upload every file of ``model_dir`` under models/<version>/, then artifact.json. Returns its URI."""
    base = model_uri(registry, version)
    if storage.exists(storage.join(base, ARTIFACT)):
        raise RegistryError(f"version {version} already registered")
    files = []
    for root, _, names in os.walk(model_dir):
        for name in sorted(names):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, model_dir).replace(os.sep, "/")
            with open(path, "rb") as f:
                storage.write_bytes(storage.join(base, rel), f.read())
            files.append(rel)
    card = {**card, "version": version, "files": sorted(files), "registered_at": datetime.now(UTC).isoformat()}
    storage.write_bytes(storage.join(base, ARTIFACT), json.dumps(card, indent=1, ensure_ascii=False).encode())
    return base


def versions(registry: str) -> list[str]:
    """Complete versions, oldest first (version names start with their UTC time)."""
    out = []
    for v in storage.list_dirs(storage.join(registry, "models")):
        if VERSION_RE.match(v) and storage.exists(storage.join(registry, "models", v, ARTIFACT)):
            out.append(v)
    return sorted(out)


def read_json(registry: str, version: str, name: str) -> dict:
    """A JSON file of a registered version (artifact.json, lineage.json, metrics.json, ...)."""
    try:
        return json.loads(storage.read_bytes(storage.join(model_uri(registry, version), name)))
    except FileNotFoundError as e:
        raise RegistryError(f"no {name} in version {version!r} of {registry}") from e


def card(registry: str, version: str) -> dict:
    try:
        return read_json(registry, version, ARTIFACT)
    except InvalidVersion:
        raise
    except RegistryError as e:
        raise VersionNotFound(f"no complete version {version!r} in {registry}") from e


def lineage(registry: str, version: str) -> dict:
    """Where a version came from: data snapshot, partitions, data manifest, test set, base model + licence."""
    return read_json(registry, version, LINEAGE)


def production(registry: str) -> dict | None:
    """The production version's card, or None before the first promotion."""
    v = read_index(registry)["production"]
    return card(registry, v) if v else None


def _set_production(registry: str, version: str | None, action: str, expected: str | None, reason: str) -> dict:
    index = read_index(registry)
    if index["production"] != expected:
        raise RegistryError(f"production is {index['production']!r}, expected {expected!r}: another promotion won")
    index["history"].append({"action": action, "version": version, "previous": index["production"],
                             "at": datetime.now(UTC).isoformat(), "reason": reason})
    index["production"] = version
    storage.write_bytes(_index_uri(registry), json.dumps(index, indent=1).encode())  # the atomic switch
    return index


def promote(registry: str, version: str, expected_current: str | None, reason: str = "") -> dict:
    """Make ``version`` production if production is still ``expected_current``."""
    card(registry, version)  # must exist and be complete
    return _set_production(registry, version, "promote", expected_current, reason)


def rollback(registry: str, reason: str = "") -> dict:
    """Return production to the version that was production before the current one."""
    index = read_index(registry)
    current = index["production"]
    previous = next((e["previous"] for e in reversed(index["history"])
                     if e["version"] == current and e["action"] == "promote"), None)
    if current is None or previous is None:
        raise RegistryError("nothing to roll back to")
    return _set_production(registry, previous, "rollback", current, reason)


def fetch(registry: str, version: str, dest: str) -> str:
    """Download a version's files into ``dest`` (a local directory) and return it."""
    c = card(registry, version)
    for rel in c["files"]:
        path = os.path.join(dest, rel)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            storage.write_bytes(path, storage.read_bytes(storage.join(model_uri(registry, version), rel)))
    return dest


def fetch_cached(registry: str, version: str) -> str:
    """A version fetched once into the local model cache (UGC_MODEL_CACHE); torch and ORT load from disk."""
    key = hashlib.sha1(registry.encode()).hexdigest()[:10]
    path = os.path.join(settings.MODEL_CACHE.get(), "registry", key, check_version(version))
    if not os.path.exists(os.path.join(path, ARTIFACT)):
        fetch(registry, version, path)
    return path


# -- label maps (inside a model directory) ---------------------------------------------------------------

def write_label_map(model_dir: str, labels: list[str], max_length: int) -> None:
    with open(os.path.join(model_dir, LABEL_MAP), "w", encoding="utf-8") as f:
        json.dump({"labels": list(labels), "id2label": dict(enumerate(labels)), "max_length": max_length}, f, indent=1)


def read_routes(model_dir: str) -> dict | None:
    """routes.json of a routed classifier directory (None: a single classifier); layout in ugc.lang."""
    from ugc import lang

    path = os.path.join(model_dir, lang.ROUTES)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_label_map(model_dir: str) -> dict:
    """{labels, id2label, max_length} of a fetched classifier directory."""
    with open(os.path.join(model_dir, LABEL_MAP), encoding="utf-8") as f:
        return json.load(f)


# -- frozen test sets ------------------------------------------------------------------------------------

def testset_dir(registry: str, ts_version: str) -> str:
    return storage.join(registry, "testsets", ts_version)


def testset_uri(registry: str, ts_version: str) -> str:
    """The Parquet file of a frozen test set version."""
    return storage.join(testset_dir(registry, ts_version), "test.parquet")


def latest_testset(registry: str) -> dict | None:
    """The newest complete frozen test set's manifest (+ its ``uri``), or None."""
    names = sorted(v for v in storage.list_dirs(storage.join(registry, "testsets")) if v.startswith("ts-"))
    for v in reversed(names):
        m_uri = storage.join(testset_dir(registry, v), "manifest.json")
        if storage.exists(m_uri):  # the manifest is written last: a version without one is incomplete
            return {**json.loads(storage.read_bytes(m_uri)), "uri": testset_uri(registry, v)}
    return None
