"""Triton python-backend model that runs ``model.onnx`` with onnxruntime (the CPU target).

The wheel-bundled tritonserver has only the python backend; the GPU target uses Triton's native
``onnxruntime_onnx`` platform on the same model.onnx instead of this file.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        params = json.loads(args["model_config"]).get("parameters", {})
        opts = ort.SessionOptions()
        # Threads per instance come from config.pbtxt (0 = onnxruntime's default): the deployment decides.
        opts.intra_op_num_threads = int(params.get("intra_op_threads", {}).get("string_value", "0"))
        self.session = ort.InferenceSession(os.path.join(here, "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def execute(self, requests):
        # One onnxruntime call for every request Triton batched together.
        ids = [pb_utils.get_input_tensor_by_name(r, "input_ids").as_numpy() for r in requests]
        mask = [pb_utils.get_input_tensor_by_name(r, "attention_mask").as_numpy() for r in requests]
        input_ids, attention_mask = np.concatenate(ids), np.concatenate(mask)
        # The tokenizer pads to max_length so requests batch; masked positions do not change the
        # logits, so run only up to the longest real text in this batch (UGC is mostly short).
        longest = max(int(attention_mask.sum(axis=1).max()), 1)
        logits = self.session.run(["logits"], {"input_ids": input_ids[:, :longest],
                                               "attention_mask": attention_mask[:, :longest]})[0]
        out, start = [], 0
        for a in ids:
            out.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("logits", logits[start:start + len(a)].astype(np.float32))]))
            start += len(a)
        return out
