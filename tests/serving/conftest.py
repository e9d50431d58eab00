"""A promoted tiny sentiment model, trained once through the real pipeline, for every serving test."""

import pytest

from tests.helpers import TINY
from training import pipeline
from training.config import TrainConfig
from ugc import registry


@pytest.fixture(scope="session")
def tiny_registry(small_lake, tmp_path_factory):
    """A promoted tiny model, trained through the real pipeline."""
    reg = str(tmp_path_factory.mktemp("registry"))
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": small_lake, "registry_uri": reg, "epochs": 2, "run_id": "srv"})
    cand = pipeline.train_candidate(cfg, pipeline.prepare_data(cfg)["manifest_uri"])
    registry.promote(reg, cand["version"], expected_current=None)
    return reg



