import json

import pyarrow.compute as pc
import pytest

from generation import pairs, pipeline
from generation.config import GenConfig, GenGateConfig
from tests.generation.conftest import gen_config
from ugc import registry, storage
from ugc.errors import ConfigError, GateFailed


def test_config_rejects_bad_values(small_lake):
    for bad, match in (({"method": "qlora"}, "method"), ({"tasks": ["poem"]}, "tasks"), ({"lr": 2}, "lr"),
                       ({"epochs": "x"}, "epochs"), ({"nope": 1}, "unknown"), ({"gate": {"x": 1}}, "gate")):
        with pytest.raises(ConfigError, match=match):
            GenConfig.from_dict({"lake_uri": small_lake, **bad})
    with pytest.raises(ConfigError, match="lake_uri"):
        GenConfig.from_dict({})


def test_pairs_cover_every_task_without_pii_and_split_by_source(gen_registry):
    m, train, test = pairs.read(gen_registry["prep"]["manifest_uri"])
    assert set(m["tasks"]["train"]) == {"reply", "ad_copy", "rewrite"}
    for t in (train, test):
        assert not pc.any(pc.match_substring_regex(t["output"], r"\[(URL|EMAIL|PHONE)\]")).as_py()
        assert not pc.any(pc.match_substring_regex(t["output"], r"\d{5,}楼|#\d{5,}")).as_py()
    # Exclusions are counted with their reason, not dropped silently; synth plants PII in ~4% of posts.
    assert sum(v for k, v in m["excluded"].items() if k.endswith("pii_in_output")) > 0
    assert not set(train["key"].to_pylist()) & set(test["key"].to_pylist())
    assert max(m["tasks"]["train"].values()) <= 250  # max_pairs_per_task


def test_fine_tuning_lowers_loss_and_held_out_perplexity(gen_registry):
    cand = gen_registry["candidate"]
    assert cand["training"]["last_loss"] < 0.6 * cand["training"]["first_loss"]
    assert cand["perplexity"] < 0.2 * cand["base_perplexity"]
    card = registry.card(gen_registry["registry"], cand["version"])
    for f in ("model.safetensors", "tokenizer.json", "train_config.json", "lineage.json", "metrics.json",
              "samples.json", "ugc_generation.json"):
        assert f in card["files"], f
    samples = json.loads(storage.read_bytes(storage.join(card_uri(gen_registry, cand["version"]), "samples.json")))
    assert len(samples["after"]) == 6 and all(isinstance(s["output"], str) for s in samples["after"])
    assert card["test"]["base_perplexity"] == cand["base_perplexity"]


def card_uri(gen, version):
    return storage.join(gen["registry"], "models", version)


def test_lora_trains_only_adapters_and_lowers_loss(small_lake, gen_registry, tmp_path):
    cfg = gen_config(small_lake, str(tmp_path / "reg"), method="lora", lr=1e-2, lora_r=4, max_steps=40,
                     tiny_config={"n_embd": 48})
    cand = pipeline.train_candidate(cfg, gen_registry["prep"]["manifest_uri"])
    t = cand["training"]
    assert t["trainable_params"] < 0.5 * t["total_params"]  # adapters only
    assert t["last_loss"] < t["first_loss"] and cand["perplexity"] < cand["base_perplexity"]
    saved = registry.card(cfg.registry, cand["version"])["files"]
    assert "model.safetensors" in saved and not any("adapter" in f for f in saved)  # merged for serving


def test_gate_rejects_a_challenger_worse_than_production(small_lake, gen_registry):
    reg = gen_registry["registry"]
    champion = registry.production(reg)["version"]
    cfg = gen_config(small_lake, reg, run_id="weak", max_steps=2, lr=1e-4)
    cand = pipeline.train_candidate(cfg, gen_registry["prep"]["manifest_uri"])
    d = pipeline.gate_candidate(cfg, cand["version"])
    assert not d["promote"] and any(r.startswith("beats_champion") for r in d["reasons"])
    with pytest.raises(GateFailed, match="beats_champion"):
        pipeline.promote_candidate(cfg, d["decision_uri"])
    assert registry.production(reg)["version"] == champion


def test_gate_thresholds():
    good = {"test": {"perplexity": 10.0, "base_perplexity": 50.0, "repetition": 0.1, "distinct_2": 0.4,
                     "safety_hit_rate": 0.0}}
    assert pipeline.decide(GenGateConfig(), good, 12.0)["promote"]
    d = pipeline.decide(GenGateConfig(), {"test": {**good["test"], "repetition": 0.9, "safety_hit_rate": 0.2}}, 10.1)
    assert {r.split(":")[0] for r in d["reasons"]} == {"max_repetition", "max_safety_hit_rate", "beats_champion"}
    ranked = {"test": {**good["test"], "ranking": {"R10@1": 0.30}, "base_ranking": {"R10@1": 0.32}}}
    assert [r.split(":")[0] for r in pipeline.decide(GenGateConfig(), ranked, None)["reasons"]] == ["r10_at_1_vs_base"]


def test_champion_is_rescored_on_the_challengers_rows_when_tasks_differ(small_lake, gen_registry, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generation import loop

    reg = gen_registry["registry"]
    champion = registry.production(reg)
    cfg = gen_config(small_lake, reg, run_id="rewrite-only", tasks=["rewrite"], max_steps=2)
    cand = pipeline.train_candidate(cfg, gen_registry["prep"]["manifest_uri"])
    d = pipeline.gate_candidate(cfg, cand["version"])
    # Independently: the champion's perplexity on the first eval_pairs held-out *rewrite* pairs.
    _, _, test = pairs.read(gen_registry["prep"]["manifest_uri"])
    rows = test.filter(pc.equal(test["task"], "rewrite")).slice(0, cfg.eval_pairs)
    model_dir = registry.fetch(reg, champion["version"], str(tmp_path / "champion"))
    expected = loop.perplexity(AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir),
                               rows, cfg.max_length)
    assert d["champion_perplexity"] == pytest.approx(expected, rel=1e-6)
    assert d["champion_perplexity"] != pytest.approx(champion["test"]["perplexity"], rel=1e-3)  # not the card's


class Killed(Exception):
    pass


def _fit(cfg, train, crash_after_step=0):
    import torch

    from generation import loop, modeling
    from ugc import checkpoints, textgen

    torch.set_num_threads(1)  # the same kernels in both runs: updates must match bit for bit
    corpus = [textgen.prompt(r["task"], r["input"]) + r["output"] for r in train.to_pylist()]
    model, tok, _ = modeling.load(cfg.base_model, corpus, cfg.tiny_config, cfg.seed)
    real_save = checkpoints.save

    def save_then_die(obj, uri):  # the process dies right after a checkpoint reached storage
        real_save(obj, uri)
        if crash_after_step and obj["state"]["step"] >= crash_after_step:
            raise Killed(obj["state"]["step"])

    checkpoints.save = save_then_die
    try:
        return model, loop.fit(cfg, model, tok, train)
    finally:
        checkpoints.save = real_save


def test_generator_loop_resumes_after_a_kill_with_the_same_updates(gen_registry, tmp_path):
    from ugc import checkpoints

    _, train, _ = pairs.read(gen_registry["prep"]["manifest_uri"])
    train = train.slice(0, 120)
    kw = {"max_steps": 12, "checkpoint_every_steps": 4, "batch_size": 8}
    straight, s1 = _fit(gen_config("unused", "unused", work_uri=str(tmp_path / "a"), **kw), train)
    cfg = gen_config("unused", "unused", work_uri=str(tmp_path / "b"), **kw)
    with pytest.raises(Killed):
        _fit(cfg, train, crash_after_step=8)
    assert checkpoints.listed(cfg.work)[-1].endswith("ckpt-00000008.pt")
    resumed, s2 = _fit(cfg, train)
    assert s2["resumed_from_step"] == 8 and s2["steps"] == s1["steps"] == 12 and s1["resumed_from_step"] is None
    for (n, a), (_, b) in zip(straight.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch_equal(a, b), n
    with pytest.raises(ConfigError, match="different run"):  # someone else's checkpoint is never resumed
        _fit(gen_config("unused", "unused", work_uri=str(tmp_path / "b"), **{**kw, "lr": 1e-3}), train)


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a.detach(), b.detach())


def test_method_none_registers_the_base_model_as_it_is(gen_registry, tmp_path):
    cfg = gen_config("unused", str(tmp_path / "reg"), method="none", eval_pairs=20, sample_prompts=3)
    cand = pipeline.train_candidate(cfg, gen_registry["prep"]["manifest_uri"])
    card = registry.card(cfg.registry, cand["version"])
    assert cand["training"]["steps"] == 0 and card["method"] == "none"
    assert cand["perplexity"] == cand["base_perplexity"] and card["test"]["base_generation"] == {
        k: v for k, v in card["test"].items() if k in card["test"]["base_generation"]}
