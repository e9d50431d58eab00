"""Typed gRPC client for the Triton ``generator`` model: replies, ad copy and style rewrites.

    from ugc.generator_client import GeneratorClient
    with GeneratorClient("127.0.0.1:8001") as c:
        c.generate(["新款耳机音质太棒了"], task="reply", max_new_tokens=40, temperature=0.7, seed=1)
        # -> [Generation(text=..., blocked=False, reasons=[])]

Bad parameters raise ClientInputError before anything is sent (the server checks them again).
CLI: ``ugc generate --url 127.0.0.1:8001 --task reply "text" ...``
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ugc import textgen
from ugc.triton_client import ClientInputError, TritonClient


@dataclass(frozen=True)
class Generation:
    text: str  # "" when blocked
    blocked: bool  # the safety filter refused the output
    reasons: list[str] = field(default_factory=list)  # e.g. ["pii:phone"] (redacted) or ["banned:..."]


class GeneratorClient(TritonClient):
    def __init__(self, url: str = "127.0.0.1:8001", model: str = "generator", timeout_s: float = 60.0,
                 batch_size: int = 8, retries: int = 4, backoff_s: float = 0.2):
        super().__init__(url, model, timeout_s, retries, backoff_s)
        self.batch_size = batch_size
        self._tasks: list[str] | None = None

    def tasks(self) -> list[str]:
        """Task names the deployed model was trained for (published in its config parameters)."""
        if self._tasks is None:
            self._tasks = json.loads(self.model_parameter("tasks"))
        return self._tasks

    def _infer(self, prompts: list[str], task: str, p: textgen.Params) -> list[Generation]:
        import tritonclient.grpc as grpcclient
        from tritonclient.utils import InferenceServerException

        n = len(prompts)
        cols = {"PROMPT": (np.array([t.encode() for t in prompts], dtype=object), "BYTES"),
                "TASK": (np.array([task.encode()] * n, dtype=object), "BYTES"),
                "MAX_NEW_TOKENS": (np.full(n, p.max_new_tokens, np.int32), "INT32"),
                "TEMPERATURE": (np.full(n, p.temperature, np.float32), "FP32"),
                "TOP_P": (np.full(n, p.top_p, np.float32), "FP32"),
                "SEED": (np.full(n, p.seed, np.int64), "INT64")}
        inputs = []
        for name, (arr, dtype) in cols.items():
            inp = grpcclient.InferInput(name, [n, 1], dtype)
            inp.set_data_from_numpy(arr.reshape(n, 1))
            inputs.append(inp)
        try:
            res = self._call(lambda: self._client.infer(self.model, inputs, client_timeout=self.timeout_s))
        except InferenceServerException as e:
            if "invalid request" in str(e) or "INVALID_ARG" in (e.status() or "").upper():
                raise ClientInputError(str(e)) from e
            raise
        texts, blocked, reasons = (res.as_numpy(k).reshape(-1) for k in ("TEXT", "BLOCKED", "REASONS"))
        return [Generation(t.decode("utf-8"), bool(b), json.loads(r)) for t, b, r in zip(texts, blocked, reasons,
                                                                                          strict=True)]

    def generate(self, prompts: list[str], task: str, max_new_tokens: int = 48, temperature: float = 0.7,
                 top_p: float = 0.9, seed: int = 0) -> list[Generation]:
        """One Generation per prompt, in order. ``temperature=0`` is greedy; a fixed ``seed`` repeats a sample."""
        if isinstance(prompts, str | bytes) or not isinstance(prompts, list | tuple) or not prompts:
            raise ClientInputError("prompts must be a non-empty list of strings")
        try:
            p = textgen.Params(int(max_new_tokens), float(temperature), float(top_p), int(seed))
            for i, t in enumerate(prompts):
                if not isinstance(t, str):
                    raise textgen.ParamError(f"prompts[{i}] is {type(t).__name__}, not str")
                textgen.validate(task, t, p, self.tasks())
        except (textgen.ParamError, TypeError, ValueError) as e:
            raise ClientInputError(str(e)) from e
        out: list[Generation] = []
        for i in range(0, len(prompts), self.batch_size):
            out += self._infer(list(prompts[i:i + self.batch_size]), task, p)
        return out
