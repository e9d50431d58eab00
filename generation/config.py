"""Generation fine-tuning configuration: one resolved, validated dataclass for CLI, pytest and Airflow.

Saved with every model (``train_config.json``), so an artifact says exactly how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ugc import dataconfig
from ugc.errors import ConfigError

TASKS = ("reply", "ad_copy", "rewrite")


@dataclass(frozen=True)
class GenGateConfig:
    """Champion/challenger gate on the challenger's held-out pairs (the champion is re-scored on them)."""

    margin: float = 0.02  # relative perplexity gain needed over production (0.02 = 2 % lower)
    max_base_ppl_ratio: float = 1.0  # fine-tuning must not be worse than the untouched base model
    max_repetition: float = 0.5  # share of repeated 3-grams inside a generated text
    min_distinct_2: float = 0.05
    max_safety_hit_rate: float = 0.05  # generated texts the safety filter blocked or redacted


@dataclass(frozen=True)
class GenConfig(dataconfig.StageConfig):
    _registry_name, _gate_cls, _what = "generator", GenGateConfig, "generation"

    lake_uri: str
    registry_uri: str = ""  # default {lake}/registry/generator
    days: tuple[str, ...] = ()  # partitions; empty = every published partition
    tasks: tuple[str, ...] = TASKS
    # Base causal LM: a catalog name (generation.modeling.CATALOG), "tiny-random" (tests), or a local
    # Hugging Face checkpoint directory.
    base_model: str = "smollm2-135m"
    method: str = "lora"  # "lora" (peft adapters, merged into the saved weights) or "full"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_length: int = 96  # prompt + response tokens
    epochs: int = 1
    max_steps: int = 0  # 0 = epochs decide
    lr: float = 2e-4
    batch_size: int = 8
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    max_pairs_per_task: int = 2000  # training pairs per task (the rest is not used)
    eval_pairs: int = 200  # held-out pairs scored for perplexity
    sample_prompts: int = 24  # held-out prompts generated for distinct-n / repetition / safety
    max_new_tokens: int = 40
    seed: int = 13
    run_id: str = "manual"
    work_uri: str = ""  # default {registry}/runs/{run_id}
    num_threads: int = 0
    tiny_config: dict = field(default_factory=dict)  # overrides for base_model="tiny-random"
    gate: GenGateConfig = field(default_factory=GenGateConfig)

    def _check(self) -> None:
        for k in ("max_length", "epochs", "batch_size", "lora_r", "lora_alpha", "max_pairs_per_task", "eval_pairs",
                  "max_new_tokens"):
            if getattr(self, k) < 1:
                raise ConfigError(f"{k} must be >= 1, got {getattr(self, k)}")
        if not 0 < self.lr < 1:
            raise ConfigError(f"lr must be in (0, 1), got {self.lr}")
        if self.method not in ("lora", "full"):
            raise ConfigError(f"method must be 'lora' or 'full', got {self.method!r}")
        if not self.tasks or set(self.tasks) - set(TASKS):
            raise ConfigError(f"tasks must be a non-empty subset of {TASKS}, got {self.tasks}")
        dataconfig.check_days(self.days)


def load(path: str | None, overrides: dict | None = None) -> GenConfig:
    """Config from a JSON file (optional) plus overrides; ``UGC_LAKE_URI`` fills a missing lake_uri."""
    return GenConfig.from_dict(dataconfig.merged(path, overrides))
