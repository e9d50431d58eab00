"""Triton python-backend model (GPU target): logits -> probabilities (softmax, runners.py) and the label name."""

import os
import sys

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        sys.path.insert(0, os.path.join(args["model_repository"], args["model_version"]))  # its own runners.py
        import numpy as np
        import runners

        self.softmax = runners.softmax
        label_map = runners.model_args(args)[3]
        self.labels = np.array([s.encode("utf-8") for s in label_map["labels"]], dtype=object)

    def execute(self, requests):
        responses = []
        for request in requests:
            probs = self.softmax(pb_utils.get_input_tensor_by_name(request, "logits").as_numpy())
            label = self.labels[probs.argmax(axis=1)].reshape(-1, 1)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("probabilities", probs), pb_utils.Tensor("label", label)]))
        return responses
