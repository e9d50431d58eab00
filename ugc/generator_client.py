"""Typed gRPC client for the Triton ``generator`` model: replies, ad copy and style rewrites.

    from ugc.generator_client import GeneratorClient
    with GeneratorClient("127.0.0.1:8001") as c:
        c.generate(["新款耳机音质太棒了"], task="reply", max_new_tokens=40, temperature=0.7, seed=1)
        # -> [Generation(text=..., blocked=False, reasons=[])]

        for piece in c.stream("快递几天能到？", task="reply"):  # text as the server releases it, clause by clause
            print(piece.text, end="", flush=True)              # the last piece: final=True, blocked, reasons

The model is decoupled (Triton's streaming policy), so every call goes over a gRPC stream; a plain ``generate``
waits for the final response. Bad parameters raise ClientInputError before anything is sent (the server checks
them again). CLI: ``ugc generate --url 127.0.0.1:8001 --task reply [--stream] "text" ...``
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ugc import textgen
from ugc.triton_client import ClientInputError, ServingUnavailable, TritonClient


@dataclass(frozen=True)
class Generation:
    text: str  # "" when blocked
    blocked: bool  # the safety filter refused the output
    reasons: list[str] = field(default_factory=list)  # e.g. ["pii:phone"] (redacted) or ["banned:..."]


@dataclass(frozen=True)
class Piece:
    text: str  # new text released by the server's safety filter ("" in the final piece)
    final: bool = False
    blocked: bool = False
    reasons: list[str] = field(default_factory=list)


class GeneratorClient(TritonClient):
    def __init__(self, url: str = "127.0.0.1:8001", model: str = "generator", timeout_s: float = 60.0,
                 batch_size: int = 8, retries: int = 4, backoff_s: float = 0.2):
        super().__init__(url, model, timeout_s, retries, backoff_s)
        self.batch_size = batch_size
        self._tasks: list[str] | None = None
        # A gRPC client holds one stream at a time: each calling thread streams over its own connection.
        self._local, self._stream_clients, self._lock = threading.local(), [], threading.Lock()

    def _streamer(self):
        if getattr(self._local, "client", None) is None:
            import tritonclient.grpc as grpcclient

            self._local.client = grpcclient.InferenceServerClient(self.url)
            with self._lock:
                self._stream_clients.append(self._local.client)
        return self._local.client

    def close(self) -> None:
        for c in self._stream_clients:
            c.close()
        # Dropped now, not at interpreter exit, when their __del__ would find grpc half torn down.
        self._stream_clients, self._local = [], threading.local()
        super().close()

    def tasks(self) -> list[str]:
        """Task names the deployed model was trained for (published in its config parameters)."""
        if self._tasks is None:
            self._tasks = json.loads(self.model_parameter("tasks"))
        return self._tasks

    def _inputs(self, prompts: list[str], task: str, p: textgen.Params, stream: bool = False):
        import tritonclient.grpc as grpcclient

        n = len(prompts)
        cols = {"PROMPT": (np.array([t.encode() for t in prompts], dtype=object), "BYTES"),
                "TASK": (np.array([task.encode()] * n, dtype=object), "BYTES"),
                "MAX_NEW_TOKENS": (np.full(n, p.max_new_tokens, np.int32), "INT32"),
                "TEMPERATURE": (np.full(n, p.temperature, np.float32), "FP32"),
                "TOP_P": (np.full(n, p.top_p, np.float32), "FP32"),
                "SEED": (np.full(n, p.seed, np.int64), "INT64"),
                "STREAM": (np.full(n, stream, bool), "BOOL")}
        inputs = []
        for name, (arr, dtype) in cols.items():
            inp = grpcclient.InferInput(name, [n, 1], dtype)
            inp.set_data_from_numpy(arr.reshape(n, 1))
            inputs.append(inp)
        return inputs

    def _responses(self, inputs) -> Iterator:
        """Every response to one request over a gRPC stream, up to the final one."""
        from tritonclient.utils import InferenceServerException

        q: queue.Queue = queue.Queue()
        client = self._streamer()
        client.start_stream(callback=lambda result, error: q.put((result, error)))
        done = False
        try:
            client.async_stream_infer(self.model, inputs, enable_empty_final_response=True)
            while True:
                try:
                    result, error = q.get(timeout=self.timeout_s)
                except queue.Empty:
                    raise InferenceServerException(f"no response from {self.model} in {self.timeout_s} s",
                                                   "DEADLINE_EXCEEDED") from None
                if error is not None:
                    if "invalid request" in str(error) or "INVALID_ARG" in (error.status() or "").upper():
                        raise ClientInputError(str(error)) from error
                    raise error
                resp = result.get_response()
                final = resp.parameters["triton_final_response"].bool_param
                if resp.outputs:
                    yield result
                if final:
                    done = True
                    return
        finally:
            # After a timeout, an error or a caller that stopped reading, waiting for the rest could block forever.
            client.stop_stream(cancel_requests=not done)

    def _infer(self, prompts: list[str], task: str, p: textgen.Params) -> list[Generation]:
        res = self._call(lambda: list(self._responses(self._inputs(prompts, task, p))))[-1]
        texts, blocked, reasons = (res.as_numpy(k).reshape(-1) for k in ("TEXT", "BLOCKED", "REASONS"))
        return [Generation(t.decode("utf-8"), bool(b), json.loads(r)) for t, b, r in zip(texts, blocked, reasons,
                                                                                          strict=True)]

    def _params(self, prompts, task, max_new_tokens, temperature, top_p, seed) -> textgen.Params:
        try:
            p = textgen.Params(int(max_new_tokens), float(temperature), float(top_p), int(seed))
            for i, t in enumerate(prompts):
                if not isinstance(t, str):
                    raise textgen.ParamError(f"prompts[{i}] is {type(t).__name__}, not str")
                textgen.validate(task, t, p, self.tasks())
        except (textgen.ParamError, TypeError, ValueError) as e:
            raise ClientInputError(str(e)) from e
        return p

    def stream(self, prompt: str, task: str, max_new_tokens: int = 48, temperature: float = 0.7, top_p: float = 0.9,
               seed: int = 0) -> Iterator[Piece]:
        """The reply as the server releases it (safety-checked clause by clause); the last Piece is final.
        Not retried once text has arrived: a stream cannot be replayed without repeating what was shown."""
        if not isinstance(prompt, str):
            raise ClientInputError("prompt must be a string")
        from tritonclient.utils import InferenceServerException

        p = self._params([prompt], task, max_new_tokens, temperature, top_p, seed)
        try:
            for res in self._responses(self._inputs([prompt], task, p, stream=True)):
                text, blocked, reasons = (res.as_numpy(k).reshape(-1)[0] for k in ("TEXT", "BLOCKED", "REASONS"))
                final = res.get_response().parameters["triton_final_response"].bool_param
                yield Piece(text.decode("utf-8"), final, bool(blocked), json.loads(reasons))
        except InferenceServerException as e:
            raise ServingUnavailable(f"stream from {self.model} at {self.url} failed: {e}") from e

    def stream_timed(self, prompt: str, task: str, on_text=None, **params) -> dict:
        """Consume ``stream`` (``on_text(piece_text)`` for each released text): the whole text, the verdict,
        seconds to the first released text (None when nothing was) and in all."""
        t0, first, text, last = time.perf_counter(), None, "", None
        for last in self.stream(prompt, task, **params):
            if last.text and first is None:
                first = time.perf_counter() - t0
            text += last.text
            if on_text and last.text:
                on_text(last.text)
        return {"text": text, "blocked": last.blocked, "reasons": last.reasons, "first_text_s": first,
                "seconds": time.perf_counter() - t0}

    def generate(self, prompts: list[str], task: str, max_new_tokens: int = 48, temperature: float = 0.7,
                 top_p: float = 0.9, seed: int = 0) -> list[Generation]:
        """One Generation per prompt, in order. ``temperature=0`` is greedy; a fixed ``seed`` repeats a sample."""
        if isinstance(prompts, str | bytes) or not isinstance(prompts, list | tuple) or not prompts:
            raise ClientInputError("prompts must be a non-empty list of strings")
        p = self._params(prompts, task, max_new_tokens, temperature, top_p, seed)
        out: list[Generation] = []
        for i in range(0, len(prompts), self.batch_size):
            out += self._infer(list(prompts[i:i + self.batch_size]), task, p)
        return out
