"""Triton python-backend model: raw UTF-8 text -> fixed-length input_ids / attention_mask.

Copied into ``<repo>/<name>_tokenizer/<version>/model.py``; reads ``tokenizer.json`` and
``label_map.json`` (for max_length) beside it. Fixed-length padding keeps every request the same
shape, so Triton's dynamic batcher can merge them for the model step.

Size limits are enforced here, before anything is decoded or tokenized (config parameters
``max_text_bytes`` and ``max_request_bytes``): an oversized text or request gets INVALID_ARG, so a client
that skips the client library's checks cannot make the server tokenize megabytes.
"""

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer


def invalid(message: str):
    code = getattr(pb_utils.TritonError, "INVALID_ARG", None)
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, *([code] if code is not None else [])))


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        params = {k: v["string_value"] for k, v in json.loads(args["model_config"]).get("parameters", {}).items()}
        self.max_text_bytes = int(params["max_text_bytes"])  # written by serving/sentiment_deploy.py
        self.max_request_bytes = int(params["max_request_bytes"])
        with open(os.path.join(here, "label_map.json"), encoding="utf-8") as f:
            self.max_length = json.load(f)["max_length"]
        self.tok = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
        self.tok.enable_truncation(self.max_length)
        pad_id = self.tok.token_to_id("[PAD]") or 0
        self.tok.enable_padding(length=self.max_length, pad_id=pad_id, pad_token="[PAD]")

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            sizes = [len(t) if isinstance(t, bytes) else len(str(t).encode()) for t in raw]
            if sizes and max(sizes) > self.max_text_bytes:
                responses.append(invalid(f"TEXT[{int(np.argmax(sizes))}] is {max(sizes)} bytes; the limit is "
                                         f"{self.max_text_bytes}"))
                continue
            if sum(sizes) > self.max_request_bytes:
                responses.append(invalid(f"request is {sum(sizes)} bytes of text; the limit is {self.max_request_bytes}"))
                continue
            texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in raw]
            enc = self.tok.encode_batch(texts)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("input_ids", ids), pb_utils.Tensor("attention_mask", mask)]))
        return responses
