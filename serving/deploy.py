"""Deploy a registry version to Triton: fetch -> ONNX export -> parity -> publish -> load -> smoke -> (rollback).

``deploy(DeployConfig, registry_version) -> dict`` runs the same from pytest, the CLI and Airflow.
CLI: ``python -m serving.deploy --registry R --repo model_repository [--version V] [--triton-url URL]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass

from serving import export, repository
from training import registry

log = logging.getLogger(__name__)

SMOKE = {"这个手机真的太好用了，五星好评": None, "Worst delivery ever, want a refund": None}


class DeployError(RuntimeError):
    """Deployment failed; the previous version is serving (rolled back)."""


@dataclass(frozen=True)
class DeployConfig:
    registry_uri: str
    repo_uri: str
    triton_url: str = ""  # empty: publish only, do not load (no server to talk to)
    target: str = "cpu"
    max_batch_size: int = 64
    parity_atol: float = 1e-4
    ready_timeout_s: float = 120.0


def _load_and_smoke(cfg: DeployConfig, labels: list[str], version: int | None) -> dict:
    """Load every model (steps first: loading an ensemble does not re-read steps that are already
    loaded), wait until ``version`` of each is ready, then classify the smoke texts."""
    import tritonclient.grpc as grpcclient

    from serving.client import SentimentClient

    client = grpcclient.InferenceServerClient(cfg.triton_url)
    try:
        for name in repository.MODELS:
            client.load_model(name)
        deadline = time.time() + cfg.ready_timeout_s
        for name in repository.MODELS:
            while not client.is_model_ready(name, str(version) if version else ""):
                if time.time() > deadline:
                    raise DeployError(f"{name} version {version} not ready after {cfg.ready_timeout_s}s")
                time.sleep(0.2)
    finally:
        client.close()
    with SentimentClient(cfg.triton_url, timeout_s=30) as sc:
        preds = sc.classify(list(SMOKE))
    for p in preds:
        if p.label not in labels or abs(sum(p.probabilities.values()) - 1) > 1e-3:
            raise DeployError(f"smoke inference returned nonsense: {p}")
    return {t: p.label for t, p in zip(SMOKE, preds, strict=True)}


def deploy(cfg: DeployConfig, version: str | None = None) -> dict:
    """Publish registry ``version`` (default: production) as a new Triton version; roll back on failure."""
    card = registry.card(cfg.registry_uri, version) if version else registry.production(cfg.registry_uri)
    if card is None:
        raise DeployError(f"no production model in {cfg.registry_uri}")
    with tempfile.TemporaryDirectory(prefix="ugc-deploy-") as tmp:
        model_dir = registry.fetch(cfg.registry_uri, card["version"], f"{tmp}/model")
        with open(f"{model_dir}/label_map.json", encoding="utf-8") as f:
            label_map = json.load(f)
        onnx_path = export.export_onnx(model_dir, f"{tmp}/model.onnx")
        parity = export.parity_check(model_dir, onnx_path, atol=cfg.parity_atol)  # raises ParityError
        cfgs = repository.configs(label_map["labels"], label_map["max_length"], cfg.target, cfg.max_batch_size,
                                  env_path=None)
        tv = repository.publish(cfg.repo_uri, model_dir, onnx_path, cfgs, cfg.target,
                                meta={"registry_version": card["version"], "registry_uri": cfg.registry_uri})
    result = {"registry_version": card["version"], "triton_version": tv, "parity": parity, "loaded": False}
    if cfg.triton_url:
        result["smoke"] = repository.activate_or_roll_back(
            cfg.repo_uri, tv, repository.MODELS, lambda v: _load_and_smoke(cfg, label_map["labels"], v), DeployError)
        result["loaded"] = True
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serving.deploy", description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", required=True)
    ap.add_argument("--repo", default="model_repository")
    ap.add_argument("--version", help="registry version (default: production)")
    ap.add_argument("--triton-url", default="", help="gRPC host:port of a running server to load into")
    ap.add_argument("--target", choices=("cpu", "gpu"), default="cpu")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        out = deploy(DeployConfig(a.registry, a.repo, a.triton_url, a.target), a.version)
    except (DeployError, export.ParityError, registry.RegistryError) as e:
        print(f"deploy: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
