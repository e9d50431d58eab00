"""A routed model: one expert per language, each trained on its own language's rows, served as one model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.helpers import TINY
from training import experts, loop, pipeline
from training.config import TrainConfig
from ugc import lang, registry, storage
from ugc.errors import ConfigError
from ugc.splits import read_split

EN = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def routed(small_lake, tmp_path_factory):
    reg = str(tmp_path_factory.mktemp("reg"))
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": small_lake, "registry_uri": reg, "epochs": 12, "early_stopping_patience": 30,
                                 "run_id": "routed", "experts": {"en": EN}})
    seen = {}
    real_fit = loop.fit

    def recording_fit(cfg_, model, tok, train, val):
        seen[cfg_.base_model] = {"train": train, "val": val, "vocab": tok.vocab_size, "work": cfg_.work}
        return real_fit(cfg_, model, tok, train, val)

    loop.fit = recording_fit
    try:
        prep = pipeline.prepare_data(cfg)
        cand = pipeline.train_candidate(cfg, prep["manifest_uri"])
    finally:
        loop.fit = real_fit
    return {"cfg": cfg, "cand": cand, "seen": seen, "dir": registry.fetch_cached(reg, cand["version"])}


@pytest.mark.slow
def test_each_expert_trains_on_its_own_language_with_its_own_vocabulary(routed):
    seen = routed["seen"]
    assert set(seen) == {"m3e-small", EN}
    en_rows = seen[EN]["train"]["text"].to_pylist()
    rest = seen["m3e-small"]["train"]["text"].to_pylist()
    assert en_rows and rest
    assert set(lang.detect(en_rows)) == {"en"} and "en" not in set(lang.detect(rest))
    assert seen[EN]["vocab"] != seen["m3e-small"]["vocab"]  # English uncased 30,522 vs Chinese BERT 21,128
    assert seen[EN]["work"] != seen["m3e-small"]["work"]  # checkpoints apart: each expert resumes on its own


@pytest.mark.slow
def test_routed_model_scores_each_text_with_its_expert(routed):
    from ugc.inference import embed, load_classifier, predict_probs

    d = routed["dir"]
    assert registry.read_routes(d) == {"experts": [lang.DEFAULT_EXPERT, "en"]}
    model, tok, labels, max_length = load_classifier(d)
    assert tok is None and labels == list(routed["cfg"].labels)
    texts = ["这个手机真的太好用了", "The delivery was late and the box was broken.", "😀😀", "iPhone这次真的翻车了",
             "I love 北京 so much", ""]
    probs = predict_probs(model, tok, texts, max_length)
    keys = lang.route(["default", "en"], texts)
    assert keys.tolist() == ["default", "en", "default", "default", "en", "default"]
    for key in ("default", "en"):
        m, t, _, _ = load_classifier(lang.expert_dir(d, key))
        idx = np.flatnonzero(keys == key)
        np.testing.assert_allclose(probs[idx], predict_probs(m, t, [texts[i] for i in idx], max_length), atol=1e-6)
    emb = embed(model, tok, texts, max_length)
    width = model.experts["default"][0].config.hidden_size
    assert emb.shape[1] == width + model.experts["en"][0].config.hidden_size
    assert not emb[keys == "en", :width].any() and not emb[keys == "default", width:].any()
    assert np.abs(emb[keys == "en", width:]).sum(1).min() > 0


@pytest.mark.slow
def test_routed_candidate_is_evaluated_gated_and_described(routed):
    cand, cfg = routed["cand"], routed["cfg"]
    card = registry.card(cfg.registry, cand["version"])
    assert card["base_model"] == f"default:m3e-small+en:{EN}"
    with open(os.path.join(routed["dir"], registry.LINEAGE), encoding="utf-8") as f:
        lineage = json.load(f)
    assert set(lineage["base_model"]["experts"]) == {"default", "en"}
    assert "apache-2.0" in lineage["base_model"]["license"] and "non-commercial" in lineage["base_model"]["license"]
    assert set(card["test"]) >= {"accuracy", "macro_f1"} and 0 <= card["test"]["macro_f1"] <= 1
    decision = pipeline.gate_candidate(cfg, cand["version"])
    assert decision["promote"], decision["reasons"]
    pipeline.promote_candidate(cfg, decision["decision_uri"])
    assert registry.production(cfg.registry)["version"] == cand["version"]


@pytest.mark.slow
def test_a_routed_champion_is_rescored_on_a_new_test_set(routed):
    """The gate re-scores production on the challenger's test set: through the routed model's own experts."""
    from training.evaluate import evaluate_model_dir

    cfg = routed["cfg"].replace(run_id="single", experts={}, test_set="new", split_key="text_hash", epochs=2)
    if registry.production(cfg.registry) is None:  # run alone: promote the routed model first
        registry.promote(cfg.registry, routed["cand"]["version"], expected_current=None)
    prep = pipeline.prepare_data(cfg)
    challenger = pipeline.train_candidate(cfg, prep["manifest_uri"])
    decision = pipeline.gate_candidate(cfg, challenger["version"])
    test = read_split(registry.testset_uri(cfg.registry, prep["test_set_version"]))
    want = evaluate_model_dir(routed["dir"], test)["macro_f1"]
    assert decision["champion_macro_f1"] == pytest.approx(want, abs=1e-9)


def test_an_expert_without_rows_is_refused(small_lake, tmp_path):
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": small_lake, "registry_uri": str(tmp_path), "experts": {"other": EN}})
    prep = pipeline.prepare_data(cfg)
    m = json.loads(storage.read_bytes(prep["manifest_uri"]))
    with pytest.raises(ConfigError, match="no training or validation rows route to expert"):
        experts.fit(cfg, read_split(m["train_uri"]), read_split(m["val_uri"]))


def test_experts_are_keyed_by_language():
    with pytest.raises(ValueError, match="keyed by language"):
        TrainConfig.from_dict({**TINY, "lake_uri": "/tmp/lake", "experts": {"english": EN}})
