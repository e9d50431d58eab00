"""Typed gRPC client for the Triton ``sentiment`` ensemble: services send text, get labels + probabilities.

    from ugc.sentiment_client import SentimentClient
    with SentimentClient("127.0.0.1:8001") as c:
        c.classify(["这个手机真的太好用了", "never again"])  # -> [Prediction(label=..., probabilities=...)]

CLI: ``ugc classify --url 127.0.0.1:8001 "text" ...``
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ugc.triton_client import ClientInputError, TritonClient
from ugc.vocab import MAX_TEXT_BYTES


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]

    @property
    def confidence(self) -> float:
        return max(self.probabilities.values())


class SentimentClient(TritonClient):
    def __init__(self, url: str = "127.0.0.1:8001", model: str = "sentiment", timeout_s: float = 10.0,
                 batch_size: int = 32, retries: int = 4, backoff_s: float = 0.2, labels: list[str] | None = None):
        super().__init__(url, model, timeout_s, retries, backoff_s)
        self.batch_size = batch_size
        self._labels = labels

    @staticmethod
    def _validate(texts) -> list[bytes]:
        if isinstance(texts, str | bytes) or not isinstance(texts, list | tuple):
            raise ClientInputError("texts must be a list of strings")
        if not texts:
            raise ClientInputError("texts is empty")
        out = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise ClientInputError(f"texts[{i}] is {type(t).__name__}, not str")
            b = t.encode("utf-8")
            if len(b) > MAX_TEXT_BYTES:
                raise ClientInputError(f"texts[{i}] is {len(b)} bytes; the limit is {MAX_TEXT_BYTES}")
            out.append(b)
        return out

    def labels(self) -> list[str]:
        """Label order of the probabilities output (published in the ensemble's config parameters)."""
        if self._labels is None:
            self._labels = json.loads(self.model_parameter("labels"))
        return self._labels

    def registry_version(self) -> str | None:
        """The registered model version the deployment serves (a config parameter deploy writes), None when
        the deployment predates it."""
        return self.model_parameter("registry_version") or None

    def _infer(self, batch: list[bytes], with_labels: bool = False, embeddings: bool = False):
        import tritonclient.grpc as grpcclient

        chunk = np.array(batch, dtype=object).reshape(-1, 1)
        inp = grpcclient.InferInput("TEXT", list(chunk.shape), "BYTES")
        inp.set_data_from_numpy(chunk)
        names = ("probabilities",) + (("label",) if with_labels else ()) + (("embedding",) if embeddings else ())
        outs = [grpcclient.InferRequestedOutput(n) for n in names]
        res = self._call(lambda: self._client.infer(self.model, [inp], outputs=outs, client_timeout=self.timeout_s))
        probs = res.as_numpy("probabilities").astype(np.float32)
        if embeddings:
            return probs, res.as_numpy("embedding").astype(np.float32)
        if not with_labels:
            return probs
        return probs, [n.decode() if isinstance(n, bytes) else str(n) for n in res.as_numpy("label").reshape(-1)]

    def probabilities(self, texts: list[str], concurrency: int = 1, embeddings: bool = False):
        """(len(texts), len(labels())) probabilities, in order; with ``embeddings``, also the encoder's sentence
        embeddings (a model that serves them: ``sentiment_classifier``) as a (probabilities, embeddings) pair.
        ``concurrency`` batches in flight at once let Triton's dynamic batcher merge them (bulk scoring)."""
        data = self._validate(texts)
        self.labels()
        # Length-bucketed: the served model trims each batch to its longest text, so batches of similar lengths
        # (sorted by UTF-8 length, a proxy for tokens) spend no compute on padding; answers go back in order.
        order = np.argsort([len(b) for b in data], kind="stable")
        batches = [[data[j] for j in order[i:i + self.batch_size]] for i in range(0, len(data), self.batch_size)]

        def infer(b):
            return self._infer(b, embeddings=embeddings)

        if concurrency <= 1:
            parts = [infer(b) for b in batches]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(concurrency) as pool:  # the gRPC client is thread-safe
                parts = list(pool.map(infer, batches))
        outs = []
        for col in zip(*parts, strict=True) if embeddings else [parts]:
            got = np.concatenate(col)
            out = np.empty_like(got)
            out[order] = got
            outs.append(out)
        return tuple(outs) if embeddings else outs[0]

    def classify(self, texts: list[str]) -> list[Prediction]:
        """One Prediction per text, in order; sends batches of ``batch_size``."""
        data = self._validate(texts)
        labels = self.labels()
        preds: list[Prediction] = []
        for i in range(0, len(data), self.batch_size):
            probs, names = self._infer(data[i:i + self.batch_size], with_labels=True)
            preds += [Prediction(label=n, probabilities={lab: float(v) for lab, v in zip(labels, p, strict=True)})
                      for p, n in zip(probs, names, strict=True)]
        return preds
