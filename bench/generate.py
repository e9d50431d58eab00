"""Generation serving: the Triton ``generator`` over gRPC vs in-process ``generate()`` one prompt at a time
(the baseline), same model, prompts, token budget and machine, measured in one run.

Triton is measured with one prompt per request sequentially, 8 prompts in one request, and 8 concurrent
single-prompt requests (which its dynamic batcher may merge). Greedy decoding, fixed max_new_tokens.
Usage: python bench/generate.py --registry DATA/lake/registry/generator [--prompts 16] [--max-new-tokens 32]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date


def _prompts(n: int) -> list[str]:
    from ingestion.synth import generate_records

    return [r["text"].strip()[:120] for r in generate_records(date(2026, 11, 20), n, seed=9)]


def bench_inprocess(model_dir: str, prompts: list[str], max_new: int) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ugc import textgen

    model, tok = AutoModelForCausalLM.from_pretrained(model_dir).eval(), AutoTokenizer.from_pretrained(model_dir)
    p = textgen.Params(max_new_tokens=max_new, temperature=0.0)
    textgen.generate(model, tok, [textgen.prompt("reply", prompts[0])], p)  # warm-up
    t0 = time.perf_counter()
    for x in prompts:
        textgen.generate(model, tok, [textgen.prompt("reply", x)], p)
    return len(prompts) / (time.perf_counter() - t0)


def bench_triton(url: str, prompts: list[str], max_new: int) -> dict:
    from ugc.generator_client import GeneratorClient

    kw = {"task": "reply", "max_new_tokens": max_new, "temperature": 0.0}
    out = {}
    with GeneratorClient(url, timeout_s=600) as c:
        c.generate(prompts[:1], **kw)  # warm-up
        t0 = time.perf_counter()
        for x in prompts:
            c.generate([x], **kw)
        out["1 prompt/request, sequential"] = len(prompts) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(0, len(prompts), 8):
            c.generate(prompts[i:i + 8], **kw)
        out["8 prompts/request"] = len(prompts) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda x: c.generate([x], **kw), prompts))
        out["8 concurrent 1-prompt requests"] = len(prompts) / (time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", required=True)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    a = ap.parse_args()
    from serving.config import GeneratorDeployConfig
    from serving.generator_deploy import deploy_generator
    from serving.server import TritonServer
    from ugc import registry

    prompts = _prompts(a.prompts)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = registry.fetch(a.registry, registry.production(a.registry)["version"], f"{tmp}/model")
        base = bench_inprocess(model_dir, prompts, a.max_new_tokens)
        print(f"baseline in-process generate(), 1 prompt at a time: {base:.3f} prompts/s")
        with TritonServer(f"{tmp}/repo", startup_timeout=300) as s:
            deploy_generator(GeneratorDeployConfig(registry_uri=a.registry, repo_uri=f"{tmp}/repo", triton_url=s.grpc_url,
                                                   ready_timeout_s=600))
            for name, rate in bench_triton(s.grpc_url, prompts, a.max_new_tokens).items():
                print(f"triton {name:32s} {rate:.3f} prompts/s  ratio {rate / base:.2f}x")


if __name__ == "__main__":
    main()
