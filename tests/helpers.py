"""Helpers shared by training tests: a small generated lake and a tiny randomly initialised encoder."""

from __future__ import annotations

from datetime import timedelta

from ingestion import synth
from ingestion.pipeline import IngestConfig, ingest_day
from tests.conftest import DAY
from ugc import storage

# The real m3e-small tokenizer (it ships with the package) over a 2-layer, 32-wide random BERT:
# the same code path as a real fine-tune, in seconds.
TINY = {"base_model": "m3e-small", "init": "random", "lr": 2e-3, "batch_size": 32, "max_length": 48,
        "tiny_config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                        "intermediate_size": 64}, "checkpoint_every_steps": 20, "eval_batch_size": 256,
        "gate": {"min_accuracy": 0.4, "min_macro_f1": 0.3, "max_ece": 0.5}}


def build_lake(root: str, days: int = 2, posts: int = 700, seed: int = 5) -> str:
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    synth.generate(landing, DAY, days=days, posts=posts, seed=seed)
    for i in range(days):
        day = DAY + timedelta(days=i)
        ingest_day(IngestConfig.from_dict({"lake_uri": lake_uri, "day": day}), storage.join(landing, f"dt={day}"))
    return lake_uri
