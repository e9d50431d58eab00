"""Triton python-backend model (GPU target): raw UTF-8 text -> fixed-length input_ids / attention_mask.

Copied into ``<repo>/sentiment_tokenizer/<version>/model.py`` with runners.py (the tokenizer and the size
limits, shared with the CPU target's classifier), ``tokenizer.json`` and ``label_map.json`` (for max_length).
Fixed-length padding keeps every request the same shape, so Triton's dynamic batcher can merge them for the
model step. An oversized text or request (config parameters ``max_text_bytes`` and ``max_request_bytes``)
gets INVALID_ARG before anything is decoded or tokenized.
"""

import os
import sys

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        sys.path.insert(0, os.path.join(args["model_repository"], args["model_version"]))  # its own runners.py
        import runners

        self.runners = runners
        here, _, self.limits, label_map = runners.model_args(args)  # limits: serving/sentiment_deploy.py
        self.tok = runners.tokenizer(os.path.join(here, "tokenizer.json"), label_map["max_length"])

    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            try:
                texts = self.runners.checked_texts(raw, *self.limits)
            except ValueError as e:
                responses.append(self.runners.invalid(pb_utils, str(e)))
                continue
            ids, mask = self.runners.encode(self.tok, texts)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("input_ids", ids), pb_utils.Tensor("attention_mask", mask)]))
        return responses
