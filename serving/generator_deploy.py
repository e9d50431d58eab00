"""Deploy a registered generation model to Triton as the python-backend model ``generator``.

    {repo}/generator/config.pbtxt
    {repo}/generator/<v>/model.py, runners.py, ugc/{textgen,safety,textnorm,vocab,settings}.py + ugc/data/, ugc_generation.json,
                           model.json, hf/...

The version is self-contained: the prompt template and the safety filter travel with it (copied from the
core package), so the server builds prompts exactly as training did and filters every output.
``deploy_generator(GeneratorDeployConfig, registry_version) -> dict``: fetch -> publish N+1 -> load ->
smoke generation -> (rollback), the same from pytest, the CLI and Airflow.
"""

from __future__ import annotations

import json
import os

from serving import repository, rollout
from serving.config import GeneratorDeployConfig

MODEL = "generator"
_HERE = os.path.dirname(os.path.abspath(__file__))
_CORE = os.path.join(_HERE, "..", "ugc")
# The prompt contract and the safety filter travel with every version (stdlib + jieba in the Triton env).
_CODE = {"model.py": os.path.join(_HERE, "triton_models", "generator.py"),
         "runners.py": os.path.join(_HERE, "triton_models", "runners.py"),  # its compute_heap
         "ugc/data/safety_tables.json": os.path.join(_CORE, "data", "safety_tables.json"),
         **{f"ugc/{m}.py": os.path.join(_CORE, f"{m}.py")
            for m in ("__init__", "textgen", "safety", "textnorm", "vocab", "settings")}}


def config(tasks: list[str], target: str = "cpu", max_batch_size: int = 8, queue_delay_us: int = 20000) -> str:
    """config.pbtxt text for the generator (CPU or GPU instance)."""
    if target not in ("cpu", "gpu"):
        raise ValueError(f"target must be cpu or gpu, got {target!r}")
    mc = repository.model_config()
    c = mc.ModelConfig(name=MODEL, backend="python", max_batch_size=max_batch_size)
    c.version_policy.latest.num_versions = 2
    c.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    c.instance_group.add(kind=mc.ModelInstanceGroup.KIND_GPU if target == "gpu" else mc.ModelInstanceGroup.KIND_CPU,
                         count=1)
    for name, dtype in (("PROMPT", mc.TYPE_STRING), ("TASK", mc.TYPE_STRING), ("MAX_NEW_TOKENS", mc.TYPE_INT32),
                        ("TEMPERATURE", mc.TYPE_FP32), ("TOP_P", mc.TYPE_FP32), ("SEED", mc.TYPE_INT64)):
        c.input.add(name=name, data_type=dtype, dims=[1])
    c.input.add(name="STREAM", data_type=mc.TYPE_BOOL, dims=[1], optional=True)
    # Decoupled: one request may get many responses (token streaming over gRPC); clients use the stream API.
    c.model_transaction_policy.decoupled = True
    for name, dtype in (("TEXT", mc.TYPE_STRING), ("BLOCKED", mc.TYPE_BOOL), ("REASONS", mc.TYPE_STRING)):
        c.output.add(name=name, data_type=dtype, dims=[1])
    c.parameters["tasks"].string_value = json.dumps(list(tasks))  # clients validate the task name against this
    return repository.to_text(c)


def publish(repo: str, model_dir: str, cfg_text: str, meta: dict) -> int:
    """Write version N+1 of the generator from a fetched registry model directory."""
    version = repository.next_version(repo, (MODEL,))
    repository.write_config(repo, MODEL, cfg_text)
    body = repository.read_files({**_CODE, "ugc_generation.json": os.path.join(model_dir, "ugc_generation.json")})
    # samples.json is evaluation output, not needed to serve.
    body.update(repository.tree(model_dir, prefix="hf/", skip=("samples.json", "ugc_generation.json")))
    body["model.json"] = json.dumps(meta, indent=1).encode()
    repository.write_version(repo, MODEL, version, body)
    return version


def _smoke(cfg: GeneratorDeployConfig, tasks: list[str]) -> str:
    from ugc.generator_client import GeneratorClient

    with GeneratorClient(cfg.triton_url, timeout_s=120) as gc:
        out = gc.generate(["这个手机真的太好用了"], task=tasks[0], max_new_tokens=8, temperature=0.0)
    if len(out) != 1 or not isinstance(out[0].text, str):
        raise rollout.DeployError(f"smoke generation returned nonsense: {out}")
    return out[0].text


def deploy_generator(cfg: GeneratorDeployConfig, version: str | None = None) -> dict:
    """Publish registry ``version`` (default: production) as a new Triton version; roll back on failure."""
    tasks: list[str] = []

    def build(model_dir: str, card: dict) -> tuple[int, dict]:
        tasks.extend(card["tasks"])
        text = config(card["tasks"], cfg.target, cfg.max_batch_size, cfg.queue_delay_us)
        return publish(cfg.repo_uri, model_dir, text, {"registry_version": card["version"],
                                                       "registry_uri": cfg.registry_uri}), {}

    return rollout.deploy(cfg, version, (MODEL,), build, lambda _v: _smoke(cfg, tasks))
