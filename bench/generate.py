"""Generation serving: the Triton ``generator`` over gRPC vs in-process ``generate()`` one prompt at a time
(the baseline), same model, prompts, token budget and machine, measured in one run.

Triton is measured with one prompt per request sequentially, 8 prompts in one request, and 8 concurrent
single-prompt requests (which its dynamic batcher may merge), then streamed (decoupled gRPC): time to the first
released text and generated tokens/s. Greedy decoding, fixed max_new_tokens.
Usage: python bench/generate.py --registry DATA/lake/registry/generator [--prompts 16] [--max-new-tokens 32]
       python bench/generate.py --model /path/to/hf-checkpoint --taobao   # reserved Taobao dialogues as prompts
                                                                           # (the replies are printed too)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date


def _prompts(n: int, taobao: bool) -> list[str]:
    if taobao:  # evenly spaced reserved test dialogues, as the model card shows them
        from ugc import dialogues, textgen

        items = dialogues.taobao_test()
        return [textgen.thread(it.context) for it in items[:: len(items) // n][:n]]
    from ingestion.synth import generate_records

    return [r["text"].strip()[:120] for r in generate_records(date(2026, 11, 20), n, seed=9)]


def bench_stream(url: str, model_dir: str, prompts: list[str], max_new: int) -> dict:
    """Per prompt: seconds to the first released text, and generated tokens / total seconds."""
    import numpy as np
    from transformers import AutoTokenizer

    from ugc.generator_client import GeneratorClient

    tok = AutoTokenizer.from_pretrained(model_dir)
    first, rates, texts = [], [], []
    with GeneratorClient(url, timeout_s=600) as c:
        for x in prompts:
            r = c.stream_timed(x, "reply", max_new_tokens=max_new, temperature=0.0)
            first.append(r["first_text_s"] if r["first_text_s"] is not None else r["seconds"])
            rates.append(len(tok(r["text"], add_special_tokens=False)["input_ids"]) / r["seconds"])
            texts.append(r["text"])
    return {"first_text_p50_s": float(np.median(first)), "first_text_max_s": float(max(first)),
            "tokens_per_s": float(np.median(rates)), "texts": texts}


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


def _registry_of(model_dir: str, tmp: str) -> str:
    """A throwaway registry holding a local checkpoint as one version (deploy reads registries)."""
    import json
    import shutil

    from ugc import registry, textgen

    d = shutil.copytree(model_dir, f"{tmp}/ckpt")
    if not os.path.exists(f"{d}/ugc_generation.json"):
        with open(f"{d}/ugc_generation.json", "w") as f:
            json.dump({"tasks": ["reply"], "template": textgen.TEMPLATE, "max_prompt_tokens": 256}, f)
    reg = f"{tmp}/registry"
    registry.register(reg, d, registry.new_version("g", "bench"), {"task": "generation", "tasks": ["reply"]})
    return reg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--registry", help="serve this registry's production version")
    src.add_argument("--model", help="serve a local Hugging Face checkpoint directory")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--taobao", action="store_true", help="prompts: reserved Taobao test dialogues")
    a = ap.parse_args()
    from serving.config import GeneratorDeployConfig
    from serving.generator_deploy import deploy_generator
    from serving.server import TritonServer
    from ugc import registry

    prompts = _prompts(a.prompts, a.taobao)
    with tempfile.TemporaryDirectory() as tmp:
        reg = a.registry or _registry_of(a.model, tmp)
        version = registry.production(reg)["version"] if a.registry else registry.versions(reg)[-1]
        model_dir = registry.fetch(reg, version, f"{tmp}/model")
        base = bench_inprocess(model_dir, prompts, a.max_new_tokens)
        print(f"baseline in-process generate(), 1 prompt at a time: {base:.3f} prompts/s")
        with TritonServer(f"{tmp}/repo", startup_timeout=300) as s:
            deploy_generator(GeneratorDeployConfig(registry_uri=reg, repo_uri=f"{tmp}/repo", triton_url=s.grpc_url,
                                                   ready_timeout_s=600), version)
            for name, rate in bench_triton(s.grpc_url, prompts, a.max_new_tokens).items():
                print(f"triton {name:32s} {rate:.3f} prompts/s  ratio {rate / base:.2f}x")
            st = bench_stream(s.grpc_url, model_dir, prompts, a.max_new_tokens)
            print(f"triton streamed: first text p50 {st['first_text_p50_s']:.2f} s (max {st['first_text_max_s']:.2f} s), "
                  f"{st['tokens_per_s']:.1f} generated tokens/s (median per prompt)")
            if a.taobao:
                for x, t in zip(prompts, st["texts"], strict=True):
                    print(f"  {x}\n    -> {t}")


if __name__ == "__main__":
    main()
