"""Leakage-free, deterministic splits and a frozen, versioned test set, on local disk and S3."""

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.helpers import build_lake
from training import data
from training.config import TrainConfig
from ugc import lang, registry, storage
from ugc.errors import ConfigError
from ugc.splits import read_split


def _cfg(lake, registry_uri, **kw):
    return TrainConfig.from_dict({"lake_uri": lake, "registry_uri": registry_uri, **kw})


def _sets(uri, col):
    return set(read_split(uri)[col].to_pylist())


def test_splits_are_leakage_free_and_labelled(small_lake, root):
    m = data.prepare(_cfg(small_lake, storage.join(root, "reg")))
    for col in ("author_id", "text_hash"):
        test = _sets(m["test_uri"], col)
        assert test and not test & _sets(m["train_uri"], col) and not test & _sets(m["val_uri"], col)
    assert not _sets(m["train_uri"], "author_id") & _sets(m["val_uri"], "author_id")
    train = read_split(m["train_uri"])
    assert pc.all(pc.is_in(train["label"], pa.array(["negative", "neutral", "positive"]))).as_py()
    assert sum(m["rows"][k] for k in ("train", "val", "test")) <= sum(p["labelled_rows"] for p in m["partitions"])
    assert [p["day"] for p in m["partitions"]] == ["2026-11-20", "2026-11-21"]
    assert json.loads(storage.read_bytes(m["manifest_uri"]))["snapshot_id"] == m["snapshot_id"]


def test_prepare_is_deterministic_and_reuses_the_frozen_test_set(small_lake, tmp_path):
    reg = str(tmp_path / "reg")
    a = data.prepare(_cfg(small_lake, reg, run_id="a"))
    b = data.prepare(_cfg(small_lake, reg, run_id="b", seed=99))  # the split does not depend on the seed
    assert a["test_set_version"] == b["test_set_version"] and a["snapshot_id"] == b["snapshot_id"]
    assert storage.read_bytes(a["train_uri"]) == storage.read_bytes(b["train_uri"])
    c = data.prepare(_cfg(small_lake, reg, run_id="c", test_set="new"))
    assert c["test_set_version"] != a["test_set_version"]
    assert registry.latest_testset(reg)["version"] == c["test_set_version"]


def test_new_data_never_enters_the_frozen_test_set(tmp_path):
    lake = build_lake(str(tmp_path / "one"), days=1, posts=500, seed=3)
    reg = str(tmp_path / "reg")
    first = data.prepare(_cfg(lake, reg, run_id="a"))
    # A second day arrives: the test set must stay byte-identical, and the new rows go to train/val.
    lake2 = build_lake(str(tmp_path / "one"), days=2, posts=500, seed=3)
    second = data.prepare(_cfg(lake2, reg, run_id="b"))
    assert second["test_uri"] == first["test_uri"] and second["rows"]["test"] == first["rows"]["test"]
    assert second["rows"]["train"] + second["rows"]["val"] > first["rows"]["train"] + first["rows"]["val"]
    assert not _sets(second["test_uri"], "text_hash") & _sets(second["train_uri"], "text_hash")


def test_test_set_label_mismatch_is_an_error(small_lake, tmp_path):
    reg = str(tmp_path / "reg")
    data.prepare(_cfg(small_lake, reg))
    with pytest.raises(ConfigError, match="test_set='new'"):
        data.prepare(_cfg(small_lake, reg, labels=["negative", "positive"]))


def test_max_train_samples_and_missing_lake(small_lake, tmp_path):
    m = data.prepare(_cfg(small_lake, str(tmp_path / "r"), max_train_samples=50))
    assert m["rows"]["train"] == 50
    with pytest.raises(ConfigError, match="no published partitions"):
        data.prepare(_cfg(str(tmp_path / "empty"), str(tmp_path / "r2")))


def test_expert_caps_limit_each_experts_rows_and_leave_the_rest(small_lake, tmp_path):
    experts = {"experts": {"en": "all-minilm-l6-v2"}}
    uncapped = data.prepare(_cfg(small_lake, str(tmp_path / "a"), **experts))
    assert uncapped["reference_uri"] == uncapped["train_uri"]  # no caps: drift's reference is the train split
    full = read_split(uncapped["train_uri"])
    n = {k: int((lang.route([lang.DEFAULT_EXPERT, "en"], full["text"].to_pylist()) == k).sum())
         for k in (lang.DEFAULT_EXPERT, "en")}
    assert min(n.values()) > 40, n
    cfg = _cfg(small_lake, str(tmp_path / "b"), expert_max_train_samples={"en": 40}, **experts)
    m = data.prepare(cfg)
    capped = read_split(m["train_uri"])
    # Drift's reference keeps the lake's mix: every row before the caps, not the re-balanced train split.
    assert read_split(m["reference_uri"])["post_id"].to_pylist() == full["post_id"].to_pylist()
    routed = lang.route([lang.DEFAULT_EXPERT, "en"], capped["text"].to_pylist())
    assert (routed == "en").sum() == 40 and (routed == lang.DEFAULT_EXPERT).sum() == n[lang.DEFAULT_EXPERT]
    # Drawn from the English rows, not from the others, and the same rows again for the same seed.
    assert set(capped["post_id"].to_pylist()) <= set(full["post_id"].to_pylist())
    again = read_split(data.prepare(cfg.replace(work_uri=str(tmp_path / "c")))["train_uri"])
    assert again["post_id"].to_pylist() == capped["post_id"].to_pylist()
    loose = data.prepare(cfg.replace(work_uri=str(tmp_path / "e"), expert_max_train_samples={"en": 10**6}))
    assert loose["reference_uri"] == loose["train_uri"]  # a cap that binds nothing changes nothing to keep apart
    with pytest.raises(ConfigError, match="expert_max_train_samples"):
        _cfg(small_lake, str(tmp_path / "d"), expert_max_train_samples={"zh": 40}, **experts)


def test_select_days(small_lake):
    assert data.select_days(small_lake, None, 30) == ["2026-11-20", "2026-11-21"]
    assert data.select_days(small_lake, "2026-11-21", 1) == ["2026-11-21"]
    assert data.select_days(small_lake, "2026-11-20", 30) == ["2026-11-20"]
