"""Nightly report configuration: one validated model for CLI, pytest and Airflow."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ugc import registry, settings, storage
from ugc.config import Config, check_day

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


class ReportConfig(Config):
    what = "report"

    lake_uri: str = Field(description="lake root (local path or s3://)")
    day: Annotated[str, AfterValidator(check_day)] = Field(description="YYYY-MM-DD: the partition reported on")
    registry_uri: str = Field("", description="default {lake}/registry/sentiment")
    reports_uri: str = Field("", description="default {lake}/reports")
    scoring: Literal["triton", "inprocess"] = Field(
        "triton", description="triton: the served model over gRPC; inprocess (torch) only when configured")
    triton_url: str = Field(default_factory=settings.TRITON_GRPC_URL.get, description="Triton gRPC host:port")
    triton_model: str = Field("sentiment", description="the served ensemble's name")
    batch_size: int = Field(64, ge=1, description="texts per gRPC request")
    timeout_s: float = Field(30.0, gt=0, description="per request")
    baseline_days: int = Field(7, ge=1, le=90, description="trailing days for spike detection and hot topics")
    min_baseline_days: int = Field(3, ge=1, description="no spike is called on less history")
    spike_z: float = Field(3.0, gt=0, description="z of today's negative share over the baseline")
    spike_min_delta: float = Field(0.05, ge=0, le=1, description="and the negative share must rise by at least this")
    top_negative: int = Field(20, ge=1, description="most negative posts listed")
    top_topics: int = Field(20, ge=1, description="hot topics listed")
    hot_topic_z: float = Field(4.0, gt=0, description="two-proportion z over the baseline for a term to be hot")
    topic_keep: int = Field(20000, ge=1, description="terms kept per day as tomorrow's baseline")
    reference_sample: int = Field(2000, ge=1, description="training rows profiled once per model version")
    current_sample: int = Field(2000, ge=1, description="today's rows for text statistics")
    embedding_sample: int = Field(400, ge=10, description="per side, for MMD and the domain classifier")
    permutations: int = Field(200, ge=1, description="of the MMD permutation test")
    seed: int = Field(0, description="samples and permutations")
    thresholds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description=f"[warn, fail] overrides of {sorted(DEFAULT_THRESHOLDS)}")

    @field_validator("day", mode="before")
    @classmethod
    def _day(cls, v):
        return str(v)[:10]  # a logical date or datetime names its day

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, v):
        for k, (warn, fail) in v.items():
            if k not in DEFAULT_THRESHOLDS:
                raise ValueError(f"has unknown drift metric {k!r}; known: {sorted(DEFAULT_THRESHOLDS)}")
            if warn > fail:
                raise ValueError(f"{k} must be [warn, fail] with warn <= fail, got {[warn, fail]}")
        return v

    @model_validator(mode="after")
    def _baseline(self):
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("min_baseline_days must be in [1, baseline_days]")
        return self

    @property
    def registry(self) -> str:
        return self.registry_uri or registry.registry_uri(self.lake_uri, "sentiment")

    @property
    def reports(self) -> str:
        return self.reports_uri or storage.join(self.lake_uri, "reports")

    @property
    def date(self) -> date:
        return date.fromisoformat(self.day)

    def threshold(self, metric: str) -> tuple[float, float]:
        return tuple(self.thresholds.get(metric, DEFAULT_THRESHOLDS[metric]))
