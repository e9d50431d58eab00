"""Nightly report configuration: one validated dataclass for CLI, pytest and Airflow."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date

from ugc import storage
from ugc.errors import ConfigError

# metric -> (warn, fail). "higher is worse" for every metric listed, so one comparison decides.
DEFAULT_THRESHOLDS = {
    "length_psi": (0.1, 0.25),          # PSI rule of thumb: <0.1 stable, 0.1-0.25 moderate, >0.25 major shift
    "length_ks": (0.1, 0.2),
    "lang_psi": (0.1, 0.25),
    "platform_psi": (0.1, 0.25),
    "unk_rate_delta": (0.01, 0.03),     # absolute rise of the [UNK] token share
    "embedding_mmd2": (0.02, 0.05),     # with the median-heuristic kernel (scale-free)
    "embedding_domain_auc": (0.7, 0.85),
    "prediction_psi": (0.1, 0.25),
    "prediction_js": (0.02, 0.05),
    "confidence_ks": (0.1, 0.2),
}


@dataclass(frozen=True)
class ReportConfig:
    lake_uri: str
    day: str  # YYYY-MM-DD: the partition reported on
    registry_uri: str = ""  # default {lake}/registry/sentiment
    reports_uri: str = ""  # default {lake}/reports
    scoring: str = "triton"  # "triton" (gRPC) or "inprocess" (torch, only when configured)
    triton_url: str = "127.0.0.1:8001"
    triton_model: str = "sentiment"
    batch_size: int = 64
    timeout_s: float = 30.0
    baseline_days: int = 7  # trailing days for spike detection and hot topics
    min_baseline_days: int = 3
    spike_z: float = 3.0
    spike_min_delta: float = 0.05  # and the negative share must rise by at least this much
    top_negative: int = 20
    top_topics: int = 20
    hot_topic_z: float = 4.0  # Poisson z over the baseline for a term to count as hot
    topic_keep: int = 20000  # terms kept per day as tomorrow's baseline
    reference_sample: int = 2000
    current_sample: int = 2000
    embedding_sample: int = 400  # per side, for MMD and the domain classifier
    permutations: int = 200
    seed: int = 0
    thresholds: dict = field(default_factory=dict)  # overrides of DEFAULT_THRESHOLDS

    @property
    def registry(self) -> str:
        return self.registry_uri or storage.join(self.lake_uri, "registry", "sentiment")

    @property
    def reports(self) -> str:
        return self.reports_uri or storage.join(self.lake_uri, "reports")

    @property
    def date(self) -> date:
        return date.fromisoformat(self.day)

    def threshold(self, metric: str) -> tuple[float, float]:
        return tuple(self.thresholds.get(metric, DEFAULT_THRESHOLDS[metric]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ReportConfig:
        """Build from Params/CLI with clear errors; unknown keys are rejected, not ignored."""
        d = {k: v for k, v in dict(d).items() if v is not None and v != ""}
        types = {f.name: f.type for f in fields(cls)}
        unknown = set(d) - set(types)
        if unknown:
            raise ConfigError(f"unknown report config keys: {sorted(unknown)}")
        for k in ("lake_uri", "day"):
            if not d.get(k):
                raise ConfigError(f"{k} is required")
        d["day"] = str(d["day"])[:10]
        for k, v in list(d.items()):
            try:
                if types[k] == "int":
                    d[k] = int(v)
                elif types[k] == "float":
                    d[k] = float(v)
            except (TypeError, ValueError) as e:
                raise ConfigError(f"{k} must be {types[k]}, got {v!r}") from e
        cfg = cls(**d)
        cfg._check()
        return cfg

    def _check(self) -> None:
        try:
            date.fromisoformat(self.day)
        except ValueError as e:
            raise ConfigError(f"day must be YYYY-MM-DD, got {self.day!r}") from e
        if self.scoring not in ("triton", "inprocess"):
            raise ConfigError(f"scoring must be 'triton' or 'inprocess', got {self.scoring!r}")
        for k in ("batch_size", "baseline_days", "top_negative", "top_topics", "topic_keep", "reference_sample",
                  "current_sample", "permutations"):
            if getattr(self, k) < 1:
                raise ConfigError(f"{k} must be >= 1, got {getattr(self, k)}")
        if self.embedding_sample < 10:
            raise ConfigError("embedding_sample must be >= 10")
        if not 1 <= self.min_baseline_days <= self.baseline_days:
            raise ConfigError("min_baseline_days must be in [1, baseline_days]")
        for k, v in self.thresholds.items():
            if k not in DEFAULT_THRESHOLDS:
                raise ConfigError(f"unknown drift metric {k!r}; known: {sorted(DEFAULT_THRESHOLDS)}")
            if not (isinstance(v, list | tuple) and len(v) == 2 and float(v[0]) <= float(v[1])):
                raise ConfigError(f"threshold {k} must be [warn, fail] with warn <= fail, got {v!r}")
