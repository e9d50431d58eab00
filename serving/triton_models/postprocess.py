"""Triton python-backend model (GPU target): logits -> probabilities (softmax, runners.py) and the label name."""

import json
import os
import sys

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        sys.path.insert(0, here)  # this version's own runners.py
        import numpy as np
        import runners

        self.softmax = runners.softmax
        with open(os.path.join(here, "label_map.json"), encoding="utf-8") as f:
            self.labels = np.array([s.encode("utf-8") for s in json.load(f)["labels"]], dtype=object)

    def execute(self, requests):
        responses = []
        for request in requests:
            probs = self.softmax(pb_utils.get_input_tensor_by_name(request, "logits").as_numpy())
            label = self.labels[probs.argmax(axis=1)].reshape(-1, 1)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("probabilities", probs), pb_utils.Tensor("label", label)]))
        return responses
