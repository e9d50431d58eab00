"""The DAG files' toolkit: operational defaults, Params derived from the stage configs, and the mapping of
non-retryable errors to ``AirflowFailException``. Only DAG files import it (it imports ``airflow.sdk``).

- Retries with exponential backoff are for transient errors (S3 or Triton unreachable, a lost worker);
  tasks raise AirflowFailException for everything retrying cannot fix, so those fail at once.
- ``UGC_RETRY_DELAY_S`` scales the first retry delay (tests and fault drills use seconds).
- A failed task logs one summary line (DAG, task, run, try, error, log URL) that alerting can key on.
- Params are the config classes' own JSON schema (type, bounds, enum, description) with their defaults, so
  the UI form, ``airflow dags trigger --conf`` validation (HTTP 400) and the library cannot disagree.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from datetime import timedelta

from airflow.sdk import Asset, Param
from airflow.sdk.exceptions import AirflowFailException

from ugc import settings
from ugc.config import merged, param_schema

log = logging.getLogger("ugc.alerts")


def on_task_failure(context) -> None:
    """Task-failure callback: one grep-able line with what failed and where to look."""
    ti = context.get("ti") or context.get("task_instance")
    err = context.get("exception")
    log.error("UGC_TASK_FAILED dag=%s task=%s run=%s try=%s/%s error=%s: %s log=%s",
              getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), getattr(ti, "run_id", "?"),
              getattr(ti, "try_number", "?"), (getattr(ti, "max_tries", None) or 0) + 1,
              type(err).__name__ if err else "?", str(err)[:500] if err else "", getattr(ti, "log_url", ""))


def default_args(retries: int = 1, retry_delay: timedelta = timedelta(minutes=2)) -> dict:
    delay = float(settings.RETRY_DELAY_S.get(str(retry_delay.total_seconds())))
    return {"owner": "ugc-ml", "retries": retries, "retry_delay": timedelta(seconds=delay),
            "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=30),
            "on_failure_callback": on_task_failure}


def asset(name: str) -> Asset:
    """The Asset of a name from ``ugc.assets``."""
    return Asset(name)


def params(model, names: list[str], defaults: dict | None = None) -> dict[str, Param]:
    """Airflow Params for config fields ``names`` of ``model``: its JSON schema, its default (or ``defaults``)."""
    out = {}
    for name in names:
        schema = param_schema(model, name)
        default = schema.pop("default", None)
        out[name] = Param((defaults or {}).get(name, default), **schema)
    return out


def overrides_param(model) -> Param:
    return Param({}, type="object", description=f"any other {model.__name__} keys (nested: {{'gate': {{...}}}})")


def build_config(model, params: dict, **extra):
    """``model`` from a run's params (declared Params and any other conf key): its own fields; its gate's
    fields given flat ("margin") then nested ("gate": {...}, as recipes give them); ``overrides``; ``extra``.
    Raises ConfigError (non-retryable) for a bad value."""
    fields = model.model_fields
    gate_model = fields["gate"].annotation if "gate" in fields else None
    own = {k: v for k, v in params.items() if k in fields and k != "gate"}
    flat_gate = {k: v for k, v in params.items() if gate_model and k in gate_model.model_fields}
    gate = merged(flat_gate, params.get("gate") if isinstance(params.get("gate"), dict) else None)
    return model.from_dict(merged(own, {"gate": gate} if gate else None, params.get("overrides") or {}, extra))


def safe_run_id(run_id: str) -> str:
    """A run id usable as a directory name (manual__2026-11-23T10:00:00+00:00 -> manual__2026-11-23T10_00_00_00_00)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


@contextmanager
def non_retryable(*errors: type[BaseException], prefix: str = ""):
    """Inside the block, ``errors`` fail the task at once (AirflowFailException): retrying cannot fix them."""
    try:
        yield
    except errors as e:
        raise AirflowFailException(f"{prefix}{e}") from e


def lifecycle_tasks(stage: str, config, outlet: Asset, train_keys: tuple[str, ...] = (),
                    event_keys: tuple[str, ...] = ("version", "previous", "registry_uri")):
    """The train -> gate -> promote tasks every training DAG shares (its own prepare task comes first).

    ``stage`` is the pipeline module ("training.pipeline"), ``config(params, run_id, **extra)`` builds the run's
    config, ``train_keys`` are the prepare result's keys passed to it for training (e.g. the chosen days),
    ``event_keys`` what the promotion's Asset event carries (of version, previous, registry_uri).
    train runs on the GPU queue and retries (resuming from its checkpoint); gate and promote never retry.
    """
    from airflow.sdk import get_current_context, task

    def module():
        import importlib

        return importlib.import_module(stage)

    # GPU workers: a CeleryExecutor worker started with `--queues gpu` takes this task; gpu_pool caps how many
    # run at once. Retries resume from the last checkpoint instead of starting over.
    @task(queue="gpu", pool="gpu_pool", retries=2, execution_timeout=timedelta(hours=8))
    def train(prep: dict, params=None, run_id=None) -> dict:
        from ugc.errors import ConfigError

        with non_retryable(ConfigError):  # e.g. a checkpoint from a different config
            cfg = config(params, run_id, **{k: prep[k] for k in train_keys})
            return module().train_candidate(cfg, prep["manifest_uri"])

    @task(retries=0, execution_timeout=timedelta(minutes=60))
    def gate(candidate: dict, params=None, run_id=None) -> dict:
        from ugc.errors import GateFailed
        from ugc.lifecycle import enforce

        with non_retryable(GateFailed, prefix=f"{candidate['version']}: "):
            d = enforce(module().gate_candidate(config(params, run_id), candidate["version"]))
        return {k: v for k, v in d.items() if k in ("version", "champion", "decision_uri") or k.startswith("challenger_")}

    @task(retries=0, outlets=[outlet], execution_timeout=timedelta(minutes=10))
    def promote(decision: dict, params=None, run_id=None) -> dict:
        from ugc.registry import RegistryError

        cfg = config(params, run_id)
        with non_retryable(RegistryError):
            result = module().promote_candidate(cfg, decision["decision_uri"])
        event = {"version": result["production"], "previous": result["previous"], "registry_uri": cfg.registry}
        get_current_context()["outlet_events"][outlet].extra = {k: event[k] for k in event_keys}
        return result

    return train, gate, promote
