import pytest

from generation import pipeline
from generation.config import GenConfig
from training import registry

TINY_GEN = {"base_model": "tiny-random", "method": "full", "lr": 5e-3, "epochs": 5, "batch_size": 16,
            "max_pairs_per_task": 250, "eval_pairs": 80, "sample_prompts": 6, "max_new_tokens": 16,
            "tiny_config": {"n_embd": 64},
            # A 2-layer random model loops on a few tokens; quality gates are for real base models.
            "gate": {"max_repetition": 1.0, "min_distinct_2": 0.0}}


def gen_config(lake: str, registry_uri: str, **kw) -> GenConfig:
    return GenConfig.from_dict({**TINY_GEN, "lake_uri": lake, "registry_uri": registry_uri, **kw})


@pytest.fixture(scope="session")
def gen_registry(small_lake, tmp_path_factory):
    """A promoted tiny generation model trained through the real stages, and its pairs manifest."""
    reg = str(tmp_path_factory.mktemp("gen_registry"))
    cfg = gen_config(small_lake, reg, run_id="fixture")
    prep = pipeline.prepare_pairs(cfg)
    cand = pipeline.train_candidate(cfg, prep["manifest_uri"])
    decision = pipeline.gate_candidate(cfg, cand["version"])
    pipeline.promote_candidate(cfg, decision["decision_uri"])
    assert registry.production(reg)["version"] == cand["version"]
    return {"registry": reg, "prep": prep, "candidate": cand, "decision": decision}
