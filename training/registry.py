"""Model registry in the lake (local or S3): self-describing versions and an atomically updated index.

    {registry}/models/<version>/    weights, tokenizer, label_map.json, train_config.json, metrics.json,
                                    lineage.json, baseline.json, then artifact.json (written last: a
                                    version without it is incomplete and invisible)
    {registry}/index.json           {"production": <version>|null, "history": [...events]}

Promotion and rollback are one atomic write of index.json, guarded by an expected-current check so
a stale promoter cannot overwrite a newer decision.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime

from ugc import storage

ARTIFACT = "artifact.json"


class RegistryError(RuntimeError):
    """The registry is not in the state the operation expected."""


def _index_uri(registry: str) -> str:
    return storage.join(registry, "index.json")


def read_index(registry: str) -> dict:
    try:
        return json.loads(storage.read_bytes(_index_uri(registry)))
    except FileNotFoundError:
        return {"production": None, "history": []}


def code_version() -> str:
    """Git commit of the code that trained the model (UGC_CODE_VERSION overrides, e.g. an image tag)."""
    if os.environ.get("UGC_CODE_VERSION"):
        return os.environ["UGC_CODE_VERSION"]
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        sha = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain"], capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "") if sha.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def register(registry: str, model_dir: str, version: str, card: dict) -> str:
    """Upload every file of ``model_dir`` under models/<version>/, then artifact.json. Returns its URI."""
    base = storage.join(registry, "models", version)
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
        if storage.exists(storage.join(registry, "models", v, ARTIFACT)):
            out.append(v)
    return sorted(out)


def card(registry: str, version: str) -> dict:
    try:
        return json.loads(storage.read_bytes(storage.join(registry, "models", version, ARTIFACT)))
    except FileNotFoundError as e:
        raise RegistryError(f"no complete version {version!r} in {registry}") from e


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
            storage.write_bytes(path, storage.read_bytes(storage.join(registry, "models", version, rel)))
    return dest
