"""Helpers shared by training tests: a small generated lake and a tiny randomly initialised encoder."""

from __future__ import annotations

from datetime import timedelta

from ingestion import synth
from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from tests.conftest import DAY
from ugc import storage
from ugc.config import recipe

# The real m3e-small tokenizer (it ships with the package) over a 2-layer, 32-wide random BERT:
# the same code path as a real fine-tune, in seconds (configs/sentiment-tiny.toml).
TINY = recipe("sentiment-tiny")


def build_lake(root: str, days: int = 2, posts: int = 700, seed: int = 5) -> str:
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    synth.generate(landing, DAY, days=days, posts=posts, seed=seed)
    for i in range(days):
        day = DAY + timedelta(days=i)
        ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), storage.join(landing, f"dt={day}"))
    return lake_uri
