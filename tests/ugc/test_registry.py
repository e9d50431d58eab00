import json

import pytest

from ugc import registry, storage


def _model_dir(tmp_path, name="m"):
    d = tmp_path / name
    (d / "sub").mkdir(parents=True)
    (d / "model.safetensors").write_bytes(b"weights-" + name.encode())
    (d / "sub" / "tokenizer.json").write_text("{}")
    return str(d)


def test_register_promote_rollback(root, tmp_path):
    reg = storage.join(root, "registry")
    assert registry.read_index(reg) == {"production": None, "history": []}
    registry.register(reg, _model_dir(tmp_path, "a"), "v1", {"test": {"macro_f1": 0.8}})
    registry.register(reg, _model_dir(tmp_path, "b"), "v2", {"test": {"macro_f1": 0.9}})
    assert registry.versions(reg) == ["v1", "v2"]
    assert registry.card(reg, "v2")["files"] == ["model.safetensors", "sub/tokenizer.json"]
    registry.promote(reg, "v1", expected_current=None)
    registry.promote(reg, "v2", expected_current="v1")
    assert registry.production(reg)["version"] == "v2"
    with pytest.raises(registry.RegistryError, match="another promotion won"):
        registry.promote(reg, "v1", expected_current=None)  # a stale promoter loses
    assert registry.rollback(reg, reason="bad canary")["production"] == "v1"
    events = registry.read_index(reg)["history"]
    assert [(e["action"], e["version"]) for e in events] == [("promote", "v1"), ("promote", "v2"), ("rollback", "v1")]
    out = registry.fetch(reg, "v2", str(tmp_path / "fetched"))
    assert open(f"{out}/model.safetensors", "rb").read() == b"weights-b"


def test_incomplete_versions_are_invisible_and_cannot_be_promoted(root, tmp_path):
    reg = storage.join(root, "registry")
    # A crash between the weights and artifact.json leaves a version without its card.
    storage.write_bytes(storage.join(reg, "models", "v0", "model.safetensors"), b"half")
    assert registry.versions(reg) == []
    with pytest.raises(registry.RegistryError, match="no complete version"):
        registry.promote(reg, "v0", expected_current=None)
    assert registry.read_index(reg)["production"] is None


def test_versions_are_immutable(tmp_path):
    reg = str(tmp_path / "registry")
    registry.register(reg, _model_dir(tmp_path), "v1", {})
    with pytest.raises(registry.RegistryError, match="already registered"):
        registry.register(reg, _model_dir(tmp_path, "x"), "v1", {})
    assert json.loads(storage.read_bytes(f"{reg}/models/v1/artifact.json"))["version"] == "v1"


def test_rollback_without_history_is_an_error(tmp_path):
    with pytest.raises(registry.RegistryError, match="nothing to roll back"):
        registry.rollback(str(tmp_path / "r"))
