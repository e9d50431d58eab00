import pytest

from generation import pipeline
from generation.config import GenConfig
from ugc import registry
from ugc.config import recipe

TINY_GEN = recipe("generator-tiny")


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
