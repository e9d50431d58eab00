"""A small lake for the nightly reports: 3 normal days, a crisis day, a drifted day, and a promoted tiny model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import DAY
from tests.helpers import TINY

NORMAL = [DAY + timedelta(days=i) for i in range(3)]
CRISIS, SHIFT = DAY + timedelta(days=3), DAY + timedelta(days=4)


@pytest.fixture(scope="session")
def mon_lake(tmp_path_factory) -> dict:
    from ingestion import synth
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day
    from training import pipeline
    from training.config import TrainConfig
    from ugc import registry, storage

    root = str(tmp_path_factory.mktemp("mon"))
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    for day, scenario in [(d, "normal") for d in NORMAL] + [(CRISIS, "crisis"), (SHIFT, "shift")]:
        synth.generate_day(landing, day, 500, seed=3, scenario=scenario)
        ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), storage.join(landing, f"dt={day}"))
    reg = storage.join(lake_uri, "registry", "sentiment")
    cfg = TrainConfig.from_dict({**TINY, "lake_uri": lake_uri, "days": [str(d) for d in NORMAL[:2]], "epochs": 4,
                                 "run_id": "mon"})
    cand = pipeline.train_candidate(cfg, pipeline.prepare_data(cfg)["manifest_uri"])
    registry.promote(reg, cand["version"], expected_current=None)
    return {"lake": lake_uri, "registry": reg, "version": cand["version"]}
