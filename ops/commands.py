"""What each ``ugc`` command does: build the stage's config, call its library function, report.

Every command returns (exit status, JSON-able output) or raises ``Failed(message, code)``; ``ops.cli`` owns
parsing, printing and the exit status of config errors (2).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys

from ugc import settings
from ugc.config import merged, parse_overrides, recipe


class Failed(RuntimeError):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _cfg(a, cls, base: dict | None = None):
    from ops.cli import config_dict

    return cls.from_dict(config_dict(a, base))


def _lake_default() -> dict:
    # UGC_LAKE_URI fills a missing lake_uri only when it is set: a typo'd run must not land in ./data.
    return {"lake_uri": settings.LAKE_URI.get()} if settings.LAKE_URI.is_set() else {}


def synth(a):
    from datetime import date

    from ingestion import synth as gen

    infos = gen.generate(a.out, date.fromisoformat(a.start), a.days, a.posts, a.seed, scenario=a.scenario,
                         crisis_share=a.crisis_share)
    return 0, {"drops": [{"uri": i["uri"], "planted": i["planted"]} for i in infos]}


def public_data(a):
    from datetime import date

    from ingestion import public_data, public_dialogues

    day = date.fromisoformat(a.day)
    writers = {**{s: public_data.write_drop for s in public_data.SOURCES},
               **{s: public_dialogues.write_drop for s in public_dialogues.SOURCES}}
    unknown = sorted(set(a.source or ()) - set(writers))
    if unknown:
        raise Failed(f"unknown public data source(s) {unknown}; known: {sorted(writers)}")
    # Default: the labelled sets (the dialogue sets are large and only the generator uses them).
    return 0, [writers[s](s, a.out, day, a.limit) for s in (a.source or sorted(public_data.SOURCES))]


def ingest(a):
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day

    cfg = _cfg(a, IngestConfig, _lake_default())
    try:
        return 0, ingest_day(cfg, f"{a.landing.rstrip('/')}/dt={cfg.day.isoformat()}")
    except FileNotFoundError as e:
        raise Failed(str(e)) from e


def validate(a):
    from ingestion.config import ValidateConfig
    from ingestion.validate import ValidationFailed, validate_partition
    from ugc import lake

    cfg = _cfg(a, ValidateConfig)
    try:
        return 0, validate_partition(cfg, lake.partition_uri(a.lake, cfg.day))
    except ValidationFailed as e:
        raise Failed(str(e)) from e
    except FileNotFoundError as e:
        raise Failed(str(e), 2) from e


def run_lifecycle(prepare, stage, cfg, promote: bool) -> tuple[int, dict]:
    """prepare -> train -> gate (-> promote): what a training DAG runs as separate tasks. Exit 3 on rejection."""
    prep = prepare(cfg)
    cand = stage.train_candidate(cfg, prep["manifest_uri"])
    decision = stage.gate_candidate(cfg, cand["version"])
    out = {"data": prep, "candidate": cand, "gate": {k: decision[k] for k in ("promote", "reasons", "champion")}}
    if decision["promote"] and promote:
        out["promoted"] = stage.promote_candidate(cfg, decision["decision_uri"])
    return (0 if decision["promote"] else 3), out


# command -> (pipeline module, config class, its prepare function)
_TRAINERS = {"train": ("training.pipeline", "training.config:TrainConfig", "prepare_data"),
             "train-generator": ("generation.pipeline", "generation.config:GenConfig", "prepare_pairs")}


def train(a):
    """``ugc train`` / ``ugc train-generator``: the whole lifecycle of one model."""
    import importlib
    from datetime import UTC, datetime

    stage, cls, prepare = _TRAINERS[a.cmd]
    module, cls_name = cls.split(":")
    pipeline = importlib.import_module(stage)
    # A fresh run id per invocation; --run-id <old> resumes a killed run from its checkpoint.
    cfg = _cfg(a, getattr(importlib.import_module(module), cls_name),
               {**_lake_default(), "run_id": f"cli-{datetime.now(UTC):%Y%m%dT%H%M%S}"})
    return run_lifecycle(getattr(pipeline, prepare), pipeline, cfg, not a.no_promote)


def train_teacher(a):
    """``ugc train-teacher``: a probe teacher (frozen encoder + fitted head) on the run's splits, registered with
    role teacher (never promoted); its version is what ``ugc train --set teacher=<version>`` distils from."""
    from datetime import UTC, datetime

    from training import pipeline, teacher
    from training.config import TrainConfig

    cfg = _cfg(a, TrainConfig, {**_lake_default(), "run_id": f"teacher-{datetime.now(UTC):%Y%m%dT%H%M%S}"})
    prep = pipeline.prepare_data(cfg)
    return 0, {"data": prep, "teacher": teacher.fit_probe(cfg, prep["manifest_uri"])}


def deploy(a):
    from serving.config import DeployConfig, GeneratorDeployConfig
    from serving.export import ParityError
    from serving.rollout import DeployError
    from ugc.registry import RegistryError

    if a.model == "sentiment":
        from serving.sentiment_deploy import deploy as run
        cfg = _cfg(a, DeployConfig)
    else:
        from serving.generator_deploy import deploy_generator as run
        cfg = _cfg(a, GeneratorDeployConfig)
    try:
        return 0, run(cfg, a.version)
    except (DeployError, ParityError, RegistryError) as e:
        raise Failed(f"deploy: {e}") from e


def serve(a):
    from serving.server import ServerError, TritonServer

    server = TritonServer(a.repo, a.grpc_port, a.http_port, a.metrics_port, tuple(a.load), startup_timeout=300)
    # Block the signals before anything else, so sigwait (not the default handler, which would kill only this
    # process and leave tritonserver and its stubs running) receives them; then stop the whole group.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        server.start()
    except ServerError as e:
        raise Failed(str(e)) from e
    print(f"tritonserver ready: grpc {server.grpc_url}, log {server.log_path}", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
    return 0, None


def _client_errors():
    from ugc.triton_client import ClientInputError, ServingUnavailable

    return ClientInputError, ServingUnavailable


def classify(a):
    from ugc.sentiment_client import SentimentClient

    try:
        with SentimentClient(a.url or settings.TRITON_GRPC_URL.get(), timeout_s=a.timeout) as c:
            preds = c.classify(a.texts)
    except _client_errors() as e:
        raise Failed(f"classify: {e}", 2) from e
    for t, p in zip(a.texts, preds, strict=True):
        print(json.dumps({"text": t, "label": p.label, "probabilities": p.probabilities}, ensure_ascii=False))
    return 0, None


def generate(a):
    from ugc.generator_client import GeneratorClient

    try:
        with GeneratorClient(a.url or settings.TRITON_GRPC_URL.get(), timeout_s=a.timeout) as c:
            if a.stream:
                return 0, [_stream(c, t, a) for t in a.prompts]
            outs = c.generate(a.prompts, a.task, a.max_new_tokens, a.temperature, a.top_p, a.seed)
    except _client_errors() as e:
        raise Failed(f"generate: {e}", 2) from e
    for t, g in zip(a.prompts, outs, strict=True):
        print(json.dumps({"prompt": t, "text": g.text, "blocked": g.blocked, "reasons": g.reasons}, ensure_ascii=False))
    return 0, None


def _stream(client, prompt: str, a) -> dict:
    """Print the reply as it arrives (stderr, so stdout stays JSON); return the verdict and its timings."""
    import sys

    r = client.stream_timed(prompt, a.task, lambda t: print(t, end="", file=sys.stderr, flush=True),
                            max_new_tokens=a.max_new_tokens, temperature=a.temperature, top_p=a.top_p, seed=a.seed)
    print(file=sys.stderr)
    first = r["first_text_s"]
    return {"prompt": prompt, **r, "first_text_s": round(first, 3) if first is not None else None,
            "seconds": round(r["seconds"], 3)}


def report(a):
    from monitoring.config import ReportConfig
    from monitoring.nightly import run
    from monitoring.scoring import ScoringError

    cfg = _cfg(a, ReportConfig, _lake_default())
    try:
        out = run(cfg)
    except (ScoringError, FileNotFoundError, ValueError) as e:
        raise Failed(f"nightly: {e}", 2) from e
    return (4 if out["drift"]["status"] == "fail" else 0), {k: out[k] for k in ("sentiment", "profiles", "drift", "alerts")}


def alerts(a):
    from monitoring.config import ReportConfig
    from ops import alerting

    out = alerting.send(_cfg(a, ReportConfig, _lake_default()))
    return (5 if out["failed"] else 0), out


def airflow(a):
    import httpx

    from ops.airflow_api import ApiError, ConfRejected, retrain, status

    try:
        if a.cmd == "status":
            return status(a.model, a.url)
        try:
            extra = json.loads(a.conf) if a.conf else None
        except ValueError as e:
            raise Failed(f"--conf is not JSON: {e}", 2) from e
        conf = merged(recipe(a.config) if a.config else None, extra,
                      {k[3:]: v for k, v in vars(a).items() if k.startswith("_k_") and v is not None})
        return retrain(a.model, conf, a.url, a.wait)
    except ConfRejected as e:
        raise Failed(f"Airflow rejected the conf (nothing queued): {e}", 2) from e
    except (ApiError, OSError, httpx.HTTPError) as e:
        raise Failed(str(e)) from e


def platform(a):
    from ops.platform import DEFAULT_BROKER, DEFAULT_DB, Platform, PlatformConfig, airflow_env, stop_from_pidfiles

    cfg = PlatformConfig(mode=a.mode, home=os.path.abspath(a.home or PlatformConfig().home), port=a.port,
                         db_url=a.db_url or DEFAULT_DB, broker_url=a.broker or DEFAULT_BROKER, gpu_slots=a.gpu_slots,
                         extra_env=settings.passthrough())
    if a.action == "down":
        return 0, {"stopped": stop_from_pidfiles(cfg.home)}
    if a.action == "env":
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in airflow_env(cfg).items()))
        return 0, None
    p = Platform(cfg)
    try:
        p.start()
    except (RuntimeError, OSError) as e:
        p.stop()
        raise Failed(f"platform: {e}") from e
    print(json.dumps({"url": p.url, "mode": cfg.mode, "home": cfg.home, "components": sorted(p.procs),
                      "logs": f"{cfg.home}/logs", "passwords": f"{cfg.home}/secrets/passwords.json"}, indent=1))
    if a.foreground:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            p.stop()
    sys.stdout.flush()
    return 0, None


def show_recipe(a):
    return 0, merged(recipe(a.name), parse_overrides(a.set))
