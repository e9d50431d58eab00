"""The Qwen base models are assembled from the installed part packages and verified by their pinned digest."""

from __future__ import annotations

import dataclasses
import os

import pytest

from generation import modeling
from ugc import assemble


def test_catalog_pins_every_assembled_model():
    for name, spec in modeling.ASSEMBLED.items():
        assert len(spec.sha256) == 64 and spec.size > 100_000_000 and "apache-2.0" in spec.licence, name
        assert len({p.requirement for p in spec.parts}) == len(spec.parts)
    assert [len(s.parts) for s in modeling.ASSEMBLED.values()] == [6, 22]


def test_the_installed_qwen_parts_make_the_published_file(tmp_path):
    out = assemble.assemble(modeling.ASSEMBLED["qwen2.5-coder-0.5b"], str(tmp_path))
    assert os.path.getsize(out) == 491_400_064  # the digest was checked on the way: a wrong file never gets here


def test_a_wrong_digest_is_refused_and_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("UGC_MODEL_CACHE", str(tmp_path))
    spec = modeling.ASSEMBLED["qwen2.5-coder-0.5b"]
    monkeypatch.setitem(modeling.ASSEMBLED, "qwen2.5-coder-0.5b", dataclasses.replace(spec, sha256="0" * 64))
    with pytest.raises(assemble.DigestMismatch, match="sha256"):
        modeling.resolve_base_model("qwen2.5-coder-0.5b")
    assert os.listdir(tmp_path / "parts") == [] and not (tmp_path / "base_models").exists()
