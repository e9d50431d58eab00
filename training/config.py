"""Sentiment training configuration: one resolved, validated dataclass shared by CLI, pytest and Airflow.

The resolved config is saved with every model, so an artifact says exactly how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ugc import dataconfig
from ugc.errors import ConfigError

DEFAULT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class GateConfig:
    """Champion/challenger gate: the challenger must pass every threshold and beat the champion."""

    margin: float = 0.005  # macro-F1 points (0-1 scale) the challenger must gain over production
    min_accuracy: float = 0.6
    min_macro_f1: float = 0.6
    max_ece: float = 0.15


@dataclass(frozen=True)
class TrainConfig(dataconfig.StageConfig):
    _registry_name, _gate_cls, _what = "sentiment", GateConfig, "training"

    lake_uri: str
    registry_uri: str = ""  # default {lake}/registry/sentiment
    days: tuple[str, ...] = ()  # partitions (YYYY-MM-DD); empty = every published partition
    labels: tuple[str, ...] = DEFAULT_LABELS
    # Base encoder: a catalog name (training.modeling.CATALOG), or any local HF checkpoint directory.
    base_model: str = "m3e-small"
    init: str = "pretrained"  # "random" builds the base model's architecture (or tiny_config) untrained
    tiny_config: dict = field(default_factory=dict)  # BertConfig overrides for init=random (unit tests)
    max_length: int = 64
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    eval_batch_size: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    early_stopping_patience: int = 2  # evaluations without a val macro-F1 gain before stopping
    eval_every_steps: int = 0  # 0 = once per epoch
    checkpoint_every_steps: int = 200
    max_steps: int = 0  # 0 = epochs decide; used by bench and smoke runs
    seed: int = 13
    amp: str = "auto"  # auto: bf16 on CUDA where supported, else fp16 + GradScaler; off on CPU
    cuda_batch_multiplier: int = 4  # larger batches when a GPU is present
    split_key: str = "author_id"  # group key for leakage-free splits; "text_hash" for sources without authors
    test_fraction: float = 0.15
    val_fraction: float = 0.1
    test_set: str = "latest"  # "latest" reuses the frozen held-out set, "new" freezes a new version
    max_train_samples: int = 0  # 0 = all
    work_uri: str = ""  # checkpoints; default {registry}/runs/{run_id}
    run_id: str = "manual"
    num_threads: int = 0  # torch CPU threads; 0 = torch default
    gate: GateConfig = field(default_factory=GateConfig)

    def _check(self) -> None:
        positive = ("max_length", "epochs", "batch_size", "eval_batch_size", "cuda_batch_multiplier")
        for k in positive:
            if getattr(self, k) < 1:
                raise ConfigError(f"{k} must be >= 1, got {getattr(self, k)}")
        if not 0 < self.lr < 1:
            raise ConfigError(f"lr must be in (0, 1), got {self.lr}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not (0 < self.test_fraction < 0.5 and 0 < self.val_fraction < 0.5):
            raise ConfigError("test_fraction and val_fraction must be in (0, 0.5)")
        if len(set(self.labels)) != len(self.labels) or len(self.labels) < 2:
            raise ConfigError(f"labels must be >= 2 distinct names, got {self.labels}")
        choices = {"init": ("pretrained", "random"), "amp": ("auto", "bf16", "fp16", "off"),
                   "split_key": ("author_id", "text_hash"), "test_set": ("latest", "new")}
        for k, allowed in choices.items():
            if getattr(self, k) not in allowed:
                raise ConfigError(f"{k} must be one of {allowed}, got {getattr(self, k)!r}")
        dataconfig.check_days(self.days)


def load(path: str | None, overrides: dict | None = None) -> TrainConfig:
    """Config from a JSON file (optional) plus overrides; ``UGC_LAKE_URI`` fills a missing lake_uri."""
    return TrainConfig.from_dict(dataconfig.merged(path, overrides))
