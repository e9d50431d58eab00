"""Generation model (replies, ad copy, style rewrite): pairs -> fine-tune (GPU queue) -> gate -> promote -> publish.

Triggered by platform engineers (no schedule):

    airflow dags trigger generation_training --conf '{"base_model": "smollm2-135m", "method": "lora", "max_steps": 300}'

A rejected challenger fails ``gate`` (no retry) and nothing after it runs. ``publish`` writes the new
production model to the Triton repository as ``generator`` and, when ``triton_url`` is set, loads and
smoke-tests it there (rolling back on failure).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from ugc.dag_defaults import default_args

_ROOT = Path(__file__).resolve().parents[1]
GENERATOR_PRODUCTION = Asset("generator_model_production")

PARAMS = {
    "lake_uri": Param(os.environ.get("UGC_LAKE_URI", str(_ROOT / "data" / "lake")), type="string"),
    "registry_uri": Param("", type="string", description="default {lake_uri}/registry/generator"),
    "days": Param([], type="array", items={"type": "string", "format": "date"}, description="empty = all partitions"),
    "tasks": Param(["reply", "ad_copy", "rewrite"], type="array",
                   items={"type": "string", "enum": ["reply", "ad_copy", "rewrite"]}, minItems=1),
    "base_model": Param("smollm2-135m", type="string",
                        description="catalog name, 'tiny-random' (tests) or a local checkpoint directory"),
    "method": Param("lora", type="string", enum=["lora", "full"]),
    "epochs": Param(1, type="integer", minimum=1, maximum=20),
    "max_steps": Param(0, type="integer", minimum=0, description="0 = epochs decide"),
    "lr": Param(2e-4, type="number", exclusiveMinimum=0, maximum=0.1),
    "batch_size": Param(8, type="integer", minimum=1, maximum=512),
    "lora_r": Param(8, type="integer", minimum=1, maximum=256),
    "max_pairs_per_task": Param(2000, type="integer", minimum=1),
    "margin": Param(0.02, type="number", minimum=0, maximum=1, description="relative perplexity gain over production"),
    "repo_uri": Param(os.environ.get("UGC_MODEL_REPOSITORY", str(_ROOT / "model_repository")), type="string"),
    "triton_url": Param(os.environ.get("UGC_TRITON_URL", ""), type="string", description="empty = publish only"),
    "overrides": Param({}, type="object", description="any other GenConfig keys (see generation/config.py)"),
}


def _config(params: dict, run_id: str):
    from generation.config import GenConfig

    keys = ("lake_uri", "registry_uri", "days", "tasks", "base_model", "method", "epochs", "max_steps", "lr",
            "batch_size", "lora_r", "max_pairs_per_task")
    d = {k: params[k] for k in keys} | {"run_id": re.sub(r"[^A-Za-z0-9_.-]", "_", run_id), **params["overrides"]}
    d["gate"] = {**d.get("gate", {}), "margin": params["margin"]}
    return GenConfig.from_dict(d)


@dag(
    dag_id="generation_training",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=1),
    dagrun_timeout=timedelta(hours=12),
    tags=["ugc", "training", "generation"],
    params=PARAMS,
    doc_md=__doc__,
)
def generation_training():
    @task(execution_timeout=timedelta(minutes=30))
    def prepare_pairs(params=None, run_id=None) -> dict:
        from generation.pipeline import prepare_pairs as build
        from ugc.errors import ConfigError

        try:
            return build(_config(params, run_id))
        except ConfigError as e:
            raise AirflowFailException(f"invalid generation config or data: {e}") from e

    @task(queue="gpu", pool="gpu_pool", retries=2, execution_timeout=timedelta(hours=8))
    def train(prep: dict, params=None, run_id=None) -> dict:
        from generation.pipeline import train_candidate
        from ugc.errors import ConfigError

        try:
            return train_candidate(_config(params, run_id), prep["manifest_uri"])
        except ConfigError as e:
            raise AirflowFailException(str(e)) from e

    @task(retries=0, execution_timeout=timedelta(minutes=60))
    def gate(candidate: dict, params=None, run_id=None) -> dict:
        from generation.pipeline import gate_candidate

        d = gate_candidate(_config(params, run_id), candidate["version"])
        if not d["promote"]:
            raise AirflowFailException(f"challenger {candidate['version']} rejected: {'; '.join(d['reasons'])}")
        return {k: d[k] for k in ("version", "champion", "challenger_perplexity", "decision_uri")}

    @task(retries=0, outlets=[GENERATOR_PRODUCTION], execution_timeout=timedelta(minutes=10))
    def promote(decision: dict, params=None, run_id=None) -> dict:
        from generation.pipeline import promote_candidate
        from training.registry import RegistryError

        cfg = _config(params, run_id)
        try:
            result = promote_candidate(cfg, decision["decision_uri"])
        except RegistryError as e:
            raise AirflowFailException(str(e)) from e
        get_current_context()["outlet_events"][GENERATOR_PRODUCTION].extra = {
            "version": result["production"], "registry_uri": cfg.registry}
        return result

    @task(retries=1, execution_timeout=timedelta(minutes=30))
    def publish(promoted: dict, params=None, run_id=None) -> dict:
        from serving.generator import GeneratorDeployConfig, GeneratorDeployError, deploy_generator

        cfg = _config(params, run_id)
        try:
            return deploy_generator(GeneratorDeployConfig(cfg.registry, params["repo_uri"], params["triton_url"]),
                                    promoted["production"])
        except GeneratorDeployError as e:  # rolled back already; the previous version is serving
            raise AirflowFailException(str(e)) from e

    publish(promote(gate(train(prepare_pairs()))))


generation_training()
