"""Publish a generation model from the registry to Triton as the python-backend model ``generator``.

    {repo}/generator/config.pbtxt
    {repo}/generator/<v>/model.py, textgen.py, safety.py, ugc_generation.json, model.json, hf/...

``deploy_generator(GeneratorDeployConfig, registry_version) -> dict`` runs the same from pytest, the
CLI and Airflow: fetch -> publish version N+1 -> load -> smoke generation -> roll back on failure.
CLI: ``python -m serving.generator --registry R --repo model_repository [--version V] [--triton-url URL]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass

from google.protobuf import text_format

from serving import repository
from training import registry

log = logging.getLogger(__name__)
MODEL = "generator"
_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE = {"model.py": os.path.join(_HERE, "triton_models", "generator.py"),
         "textgen.py": os.path.join(_HERE, "..", "generation", "textgen.py"),
         "safety.py": os.path.join(_HERE, "..", "generation", "safety.py")}


class GeneratorDeployError(RuntimeError):
    """Deployment failed; the previous version is serving (rolled back)."""


@dataclass(frozen=True)
class GeneratorDeployConfig:
    registry_uri: str
    repo_uri: str
    triton_url: str = ""  # empty: publish only
    target: str = "cpu"
    max_batch_size: int = 8
    queue_delay_us: int = 20000  # generation is slow: waiting 20 ms to fill a batch costs little
    ready_timeout_s: float = 180.0


def config(tasks: list[str], target: str = "cpu", max_batch_size: int = 8, queue_delay_us: int = 20000) -> str:
    """config.pbtxt text for the generator (CPU or GPU instance)."""
    if target not in ("cpu", "gpu"):
        raise ValueError(f"target must be cpu or gpu, got {target!r}")
    import tritonclient.grpc.model_config_pb2 as mc

    c = mc.ModelConfig(name=MODEL, backend="python", max_batch_size=max_batch_size)
    c.version_policy.latest.num_versions = 2
    c.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    c.instance_group.add(kind=mc.ModelInstanceGroup.KIND_GPU if target == "gpu" else mc.ModelInstanceGroup.KIND_CPU,
                         count=1)
    for name, dtype in (("PROMPT", mc.TYPE_STRING), ("TASK", mc.TYPE_STRING), ("MAX_NEW_TOKENS", mc.TYPE_INT32),
                        ("TEMPERATURE", mc.TYPE_FP32), ("TOP_P", mc.TYPE_FP32), ("SEED", mc.TYPE_INT64)):
        c.input.add(name=name, data_type=dtype, dims=[1])
    for name, dtype in (("TEXT", mc.TYPE_STRING), ("BLOCKED", mc.TYPE_BOOL), ("REASONS", mc.TYPE_STRING)):
        c.output.add(name=name, data_type=dtype, dims=[1])
    c.parameters["tasks"].string_value = json.dumps(list(tasks))  # clients validate the task name against this
    return text_format.MessageToString(c)


def publish(repo: str, model_dir: str, cfg_text: str, meta: dict) -> int:
    """Write version N+1 of the generator from a fetched registry model directory."""
    version = max([0, *repository.versions(repo, MODEL)]) + 1
    from ugc import storage

    storage.write_bytes(storage.join(repo, MODEL, "config.pbtxt"), cfg_text.encode())
    body = {rel: open(src, "rb").read() for rel, src in _CODE.items()}
    for root, _, names in os.walk(model_dir):
        for n in names:
            path = os.path.join(root, n)
            rel = os.path.relpath(path, model_dir).replace(os.sep, "/")
            if rel == "ugc_generation.json":
                body[rel] = open(path, "rb").read()
            elif rel != "samples.json":  # evaluation output, not needed to serve
                body["hf/" + rel] = open(path, "rb").read()
    body["model.json"] = json.dumps(meta, indent=1).encode()
    repository.write_version(repo, MODEL, version, body)
    return version


def _load_and_smoke(cfg: GeneratorDeployConfig, version: int, tasks: list[str]) -> str:
    import tritonclient.grpc as grpcclient

    from serving.gen_client import GeneratorClient

    client = grpcclient.InferenceServerClient(cfg.triton_url)
    try:
        client.load_model(MODEL)
        deadline = time.time() + cfg.ready_timeout_s
        while not client.is_model_ready(MODEL, str(version)):
            if time.time() > deadline:
                raise GeneratorDeployError(f"{MODEL} version {version} not ready after {cfg.ready_timeout_s}s")
            time.sleep(0.5)
    finally:
        client.close()
    with GeneratorClient(cfg.triton_url, timeout_s=120) as gc:
        out = gc.generate(["这个手机真的太好用了"], task=tasks[0], max_new_tokens=8, temperature=0.0)
    if len(out) != 1 or not isinstance(out[0].text, str):
        raise GeneratorDeployError(f"smoke generation returned nonsense: {out}")
    return out[0].text


def deploy_generator(cfg: GeneratorDeployConfig, version: str | None = None) -> dict:
    """Publish registry ``version`` (default: production) as a new Triton version; roll back on failure."""
    card = registry.card(cfg.registry_uri, version) if version else registry.production(cfg.registry_uri)
    if card is None:
        raise GeneratorDeployError(f"no production generation model in {cfg.registry_uri}")
    with tempfile.TemporaryDirectory(prefix="ugc-gen-deploy-") as tmp:
        model_dir = registry.fetch(cfg.registry_uri, card["version"], f"{tmp}/model")
        tv = publish(cfg.repo_uri, model_dir, config(card["tasks"], cfg.target, cfg.max_batch_size, cfg.queue_delay_us),
                     {"registry_version": card["version"], "registry_uri": cfg.registry_uri})
    result = {"registry_version": card["version"], "triton_version": tv, "loaded": False}
    if cfg.triton_url:
        result["smoke"] = repository.activate_or_roll_back(
            cfg.repo_uri, tv, (MODEL,), lambda v: _load_and_smoke(cfg, v, card["tasks"]), GeneratorDeployError)
        result["loaded"] = True
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serving.generator", description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", required=True)
    ap.add_argument("--repo", default="model_repository")
    ap.add_argument("--version", help="registry version (default: production)")
    ap.add_argument("--triton-url", default="")
    ap.add_argument("--target", choices=("cpu", "gpu"), default="cpu")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        out = deploy_generator(GeneratorDeployConfig(a.registry, a.repo, a.triton_url, a.target), a.version)
    except (GeneratorDeployError, registry.RegistryError) as e:
        print(f"deploy generator: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
