"""Generation model (replies, ad copy, style rewrite): pairs -> fine-tune (GPU queue) -> gate -> promote -> publish.

Triggered by platform engineers (no schedule):

    airflow dags trigger generation_training --conf '{"base_model": "smollm2-135m", "method": "lora", "max_steps": 300}'

A rejected challenger fails ``gate`` (no retry) and nothing after it runs. ``publish`` writes the new
production model to the Triton repository as ``generator`` and, when ``triton_url`` is set, loads and
smoke-tests it there (rolling back on failure).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from generation.config import GenConfig, GenGateConfig
from ops import dagkit
from serving.config import GeneratorDeployConfig
from ugc import assets, settings
from ugc.errors import ConfigError

GENERATOR_PRODUCTION = dagkit.asset(assets.GENERATOR_PRODUCTION)

PARAMS = {
    **dagkit.params(GenConfig, ["lake_uri", "registry_uri", "days", "tasks", "base_model", "method", "epochs",
                                "max_steps", "lr", "batch_size", "lora_r", "max_pairs_per_task"],
                    {"lake_uri": settings.LAKE_URI.get()}),
    **dagkit.params(GenGateConfig, ["margin"]),
    # Where publish puts the promoted model; the same UGC_* variables as sentiment_deploy.
    **dagkit.params(GeneratorDeployConfig, ["repo_uri", "triton_url"],
                    {"repo_uri": settings.MODEL_REPOSITORY.get(), "triton_url": settings.TRITON_GRPC_URL.get("")}),
    "overrides": dagkit.overrides_param(GenConfig),
}


def _config(params: dict, run_id: str, **extra) -> GenConfig:
    return dagkit.build_config(GenConfig, params, run_id=dagkit.safe_run_id(run_id), **extra)


@dag(
    dag_id="generation_training",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=dagkit.default_args(retries=1),
    dagrun_timeout=timedelta(hours=12),
    tags=["ugc", "training", "generation"],
    params=PARAMS,
    doc_md=__doc__,
)
def generation_training():
    @task(execution_timeout=timedelta(minutes=30))
    def prepare_pairs(params=None, run_id=None) -> dict:
        from generation.pipeline import prepare_pairs as build

        with dagkit.non_retryable(ConfigError, prefix="invalid generation config or data: "):
            return build(_config(params, run_id))

    train, gate, promote = dagkit.lifecycle_tasks("generation.pipeline", _config, GENERATOR_PRODUCTION,
                                                  event_keys=("version", "registry_uri"))

    @task(retries=1, execution_timeout=timedelta(minutes=30))
    def publish(promoted: dict, params=None, run_id=None) -> dict:
        from serving.generator_deploy import deploy_generator
        from serving.rollout import DeployError

        cfg = GeneratorDeployConfig.from_dict({**{k: params[k] for k in ("repo_uri", "triton_url")},
                                               "registry_uri": _config(params, run_id).registry})
        with dagkit.non_retryable(DeployError):  # rolled back already; the previous version is serving
            return deploy_generator(cfg, promoted["production"])

    publish(promote(gate(train(prepare_pairs()))))


generation_training()
