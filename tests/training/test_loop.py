"""The training loop on a tiny random encoder: it learns, stops early, and resumes exactly after a kill."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import TINY
from training import data, loop, modeling
from training.config import TrainConfig
from ugc import checkpoints, storage
from ugc.errors import ConfigError
from ugc.splits import read_split


class Killed(RuntimeError):
    """Stands for a kill right after a checkpoint was written."""


@pytest.fixture(scope="module")
def splits(small_lake, tmp_path_factory):
    reg = str(tmp_path_factory.mktemp("reg"))
    m = data.prepare(TrainConfig.from_dict({"lake_uri": small_lake, "registry_uri": reg}))
    return tuple(read_split(m[f"{s}_uri"]) for s in ("train", "val", "test"))


def _run(work, splits, crash_after_step=0, **kw):
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": "unused", "work_uri": work, **kw})
    path, notes = modeling.resolve_base_model(cfg.base_model)
    tok = modeling.load_tokenizer(path, lowercase=notes["lowercase"])
    model = modeling.build_classifier(path, list(cfg.labels), cfg.init, cfg.tiny_config, cfg.seed)
    real_save = checkpoints.save

    def save_then_die(obj, uri):  # the process dies right after a checkpoint reached storage
        real_save(obj, uri)
        if crash_after_step and "/checkpoints/ckpt-" in uri and obj["state"]["step"] >= crash_after_step:
            raise Killed(f"simulated kill after step {obj['state']['step']}")

    checkpoints.save = save_then_die
    try:
        summary = loop.fit(cfg, model, tok, splits[0], splits[1])
    finally:
        checkpoints.save = real_save
    return model, summary


def test_training_learns_well_above_chance(splits, tmp_path):
    _, s = _run(str(tmp_path / "w"), splits, epochs=4)
    assert s["steps"] > 0 and s["device"] == "cpu" and s["amp"] == "off"
    f1 = [h["val_macro_f1"] for h in s["history"]]
    assert max(f1) > 0.5 and f1[-1] > f1[0] + 0.2, s["history"]  # a constant guess scores <= 0.2
    assert s["history"][-1]["loss"] < 0.9


@pytest.mark.parametrize("grouped", [False, True])
def test_resume_after_kill_matches_an_uninterrupted_run(splits, tmp_path, grouped):
    kw = {"epochs": 2, "early_stopping_patience": 10, "group_by_length": grouped}
    ref, ref_s = _run(str(tmp_path / "ref"), splits, **kw)
    work = str(tmp_path / "killed")
    with pytest.raises(Killed):
        _run(work, splits, crash_after_step=20, **kw)
    assert [f.rsplit("/", 1)[-1] for f in checkpoints.listed(work)] == ["ckpt-00000020.pt"]
    resumed, s = _run(work, splits, **kw)
    assert s["resumed_from_step"] == 20 and s["steps"] == ref_s["steps"]
    for (name, a), b in zip(ref.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert [h["val_macro_f1"] for h in s["history"]] == [h["val_macro_f1"] for h in ref_s["history"]]


def test_a_checkpoint_from_another_config_is_not_resumed(splits, tmp_path):
    work = str(tmp_path / "w")
    _run(work, splits, max_steps=20)
    with pytest.raises(ConfigError, match="different run"):
        _run(work, splits, max_steps=20, lr=1e-4)


def test_a_grouped_run_is_not_resumed_in_plain_order(splits, tmp_path):
    work = str(tmp_path / "w")
    _run(work, splits, max_steps=20, group_by_length=True)
    with pytest.raises(ConfigError, match="different run"):
        _run(work, splits, max_steps=20)
    plain = str(tmp_path / "plain")
    _run(plain, splits, max_steps=20)
    # a shuffled run's checkpoint carries the fingerprint it had before group_by_length existed
    assert "group_by_length" not in checkpoints.load(checkpoints.listed(plain)[-1])["state"]["fingerprint"]


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 512), max_size=700), batch=st.integers(1, 64), seed=st.integers(0, 2**31),
       grouped=st.booleans())
def test_an_epoch_visits_every_row_once_in_a_seeded_order(lengths, batch, seed, grouped):
    order = loop.epoch_order(lengths, batch, seed, grouped)
    assert sorted(order) == list(range(len(lengths)))
    assert order == loop.epoch_order(lengths, batch, seed, grouped)  # what resume relies on


def _padded(lengths, order, batch):
    return sum(max(lengths[i] for i in order[b:b + batch]) * len(order[b:b + batch])
               for b in range(0, len(order), batch))


def test_length_grouped_batches_pad_little_and_still_shuffle():
    # token counts shaped like tweets and reviews (README: random batches pad to ~1.75x their tokens)
    lengths = np.clip(np.random.default_rng(0).lognormal(3.7, 0.6, 5000), 4, 96).astype(int).tolist()
    grouped, plain = (loop.epoch_order(lengths, 32, 1, g) for g in (True, False))
    assert _padded(lengths, grouped, 32) < 1.1 * sum(lengths) < 1.3 * sum(lengths) < _padded(lengths, plain, 32)
    assert grouped != loop.epoch_order(lengths, 32, 2, True)  # another epoch, another order
    assert grouped[:32] != sorted(grouped[:32])  # not the data's own order


def test_early_stopping_on_val_macro_f1(splits, tmp_path):
    # lr ~ 0 means no gain after the first evaluation: stop after `patience` more evaluations.
    _, s = _run(str(tmp_path / "w"), splits, epochs=20, lr=1e-12, eval_every_steps=5, early_stopping_patience=2,
                warmup_ratio=0.0)
    assert s["early_stopped"] and len(s["history"]) == 3 and s["steps"] == 15


def test_checkpoints_live_on_s3_too(splits, s3_server):
    work = f"{s3_server}/ckpt-test"
    with pytest.raises(Killed):
        _run(work, splits, crash_after_step=20, max_steps=30)
    _, s = _run(work, splits, max_steps=30)
    assert s["resumed_from_step"] == 20 and s["steps"] == 30
    assert storage.exists(f"{work}/best/model.pt")


def test_amp_policy_on_cpu():
    cfg = TrainConfig.from_dict({"lake_uri": "x"})
    assert loop._amp(cfg, torch.device("cpu")) == (None, False)
