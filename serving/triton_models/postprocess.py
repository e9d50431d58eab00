"""Triton python-backend model: logits -> probabilities (softmax) and the label name."""

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        with open(os.path.join(here, "label_map.json"), encoding="utf-8") as f:
            self.labels = np.array([s.encode("utf-8") for s in json.load(f)["labels"]], dtype=object)

    def execute(self, requests):
        responses = []
        for request in requests:
            logits = pb_utils.get_input_tensor_by_name(request, "logits").as_numpy().astype(np.float64)
            z = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = (z / z.sum(axis=1, keepdims=True)).astype(np.float32)
            label = self.labels[probs.argmax(axis=1)].reshape(-1, 1)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("probabilities", probs), pb_utils.Tensor("label", label)]))
        return responses
