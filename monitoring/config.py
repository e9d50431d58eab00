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
        "triton", description="triton: the served model over gRPC; inprocess: in the worker, only when configured")
    inprocess_model: Literal["served", "torch"] = Field(
        "served", description="inprocess runs: served = the release deploy published for the production model "
        "(its gated variant, e.g. the int8 cascade: 914 texts/s on 2 cores vs torch bf16 428, README), read from "
        "model_repository; torch = the registered weights (the fallback, saying why, when no release exists)")
    model_repository: str = Field(default_factory=settings.MODEL_REPOSITORY.get,
                                  description="Triton model repository that inprocess=served reads releases from")
    inprocess_instances: int = Field(0, ge=0, le=64, description="copies of the served model run side by side, one "
                                     "thread each, as Triton runs one instance per core (0: one per usable core, at most 8)")
    inprocess_bf16: bool = Field(True, description="inprocess scoring in bf16 on a CPU that multiplies bf16 "
                                 "natively (3x fp32 measured on AMX), when it agrees with fp32 on a sample of the day")
    bf16_min_agreement: float = Field(0.995, ge=0, le=1, description="bf16's label agreement with fp32 on that "
                                      "sample, below which the day is scored in fp32 (deploy's variant gate)")
    bf16_check_rows: int = Field(1000, ge=1, description="posts of the day scored both ways (a few seconds)")
    triton_url: str = Field(default_factory=settings.TRITON_GRPC_URL.get, description="Triton gRPC host:port")
    triton_model: str = Field("sentiment", description="the served ensemble's name")
    triton_embedding_model: str = Field("sentiment_classifier", description="the served model drift asks for "
                                        "embeddings (the ensemble's CPU step: an ensemble computes every output "
                                        "of its steps, so classification traffic would pay for them there)")
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
    topic_candidates: int = Field(60, ge=1, description="hot terms clustered into topics (more than top_topics: "
                                  "one story yields many terms)")
    topic_link: float = Field(0.6, gt=0, le=1, description="two hot terms are one topic when |A∩B|/min(|A|,|B|) of "
                              "their posts reaches this: a fragment or a translation of a story rides on its posts")
    topic_match: float = Field(0.3, gt=0, le=1, description="Jaccard of term sets for a topic to keep an earlier "
                               "day's id (stories shed and gain terms day to day)")
    topic_examples: int = Field(3, ge=0, le=20, description="representative posts per topic (PII redacted)")
    leader_days: int = Field(3, ge=0, le=30, description="trailing days whose posts today's replies can reach "
                             "(threads cross midnight)")
    top_leaders: int = Field(10, ge=1, description="opinion leaders listed, overall and per hot negative topic")
    pagerank_damping: float = Field(0.85, gt=0, lt=1, description="PageRank's usual damping (Brin & Page)")
    profile_retention_days: int = Field(90, ge=1, description="profiles unseen this long are dropped")
    profile_topics: int = Field(5, ge=1, description="topics kept per profile (bounded size per author)")
    profile_snapshots: int = Field(14, ge=1, description="daily profile snapshots kept; a rerun inside this window "
                                   "rebuilds the same table")
    alert_on: list[Literal["negative_spike", "negative_topic", "drift"]] = Field(
        ["negative_spike", "negative_topic", "drift"], description="events that send an alert")
    negative_topic_share: float = Field(0.5, ge=0, le=1, description="a hot topic this negative is a negative "
                                        "topic: its opinion leaders are listed and it may alert")
    alert_topic_min_posts: int = Field(20, ge=1, description="a negative topic alerts with this many posts and state "
                                       "new or rising (a steady story is not news every night)")
    alert_smtp_conn_id: str = Field("ugc_alerts_smtp", description="Airflow SMTP connection; absent = no e-mail")
    alert_email_to: list[str] = Field([], description="recipients; empty = the connection's extra 'to'")
    alert_webhook_conn_id: str = Field("ugc_alerts_webhook", description="Airflow HTTP connection receiving JSON "
                                       "POSTs; absent = no webhook")
    alert_attempts: int = Field(3, ge=1, le=10, description="per alert and channel, then it is recorded as failed "
                                "(a rerun tries again); never fails the report")
    alert_retry_wait_s: float = Field(2.0, ge=0, description="between attempts")
    report_url_base: str = Field("", description="links in alerts: this + /dt=DAY/sentiment.html; empty = the "
                                 "report's storage URI")
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
