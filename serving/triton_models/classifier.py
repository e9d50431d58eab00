"""Triton python-backend model ``sentiment_classifier`` (the CPU target): raw UTF-8 text -> probabilities, label.

One hop instead of three: tokenizer, model and softmax run in this one process, so a request crosses the
server/stub boundary once and no padded id tensors travel between steps. The version directory holds this
file as model.py, runners.py (the variant deploy chose: model.onnx or hf/, the tokenizer, the size limits and
length-sorted sub-batches), tokenizer.json and label_map.json; a routed version holds routes.json, lang.py and
experts/<key>/ (each expert's tokenizer.json and weights) instead. An oversized request gets INVALID_ARG (config
parameters ``max_text_bytes`` and ``max_request_bytes``); the other requests of the batch are still served.

A caller may also ask for ``embedding`` (the encoder's mean-pooled last hidden state, what the nightly drift
report compares), computed in the same pass and only when some request of the batch asks for it: the
``sentiment`` ensemble maps probabilities and label only, so classification traffic never pays for it.
"""

import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        sys.path.insert(0, os.path.join(args["model_repository"], args["model_version"]))  # its own runners.py
        import runners

        self.runners = runners
        runners.compute_heap()  # before the model allocates anything: see runners.compute_heap
        here, params, self.limits, label_map = runners.model_args(args)  # limits: serving/sentiment_deploy.py
        self.labels = np.array([s.encode("utf-8") for s in label_map["labels"]], dtype=object)
        # Threads per instance come from config.pbtxt (0 = the library's default): the deployment decides.
        # One classifier, or experts by language (routes.json): runners.Served either way.
        self.served = runners.Served(here, label_map["max_length"], int(params.get("intra_op_threads", "0")))

    def execute(self, requests):
        texts, spans, out, want = [], [], {}, set()
        for i, request in enumerate(requests):
            raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            try:
                batch = self.runners.checked_texts(raw, *self.limits)
            except ValueError as e:
                out[i] = self.runners.invalid(pb_utils, str(e))
                continue
            if "embedding" in request.requested_output_names():
                want.add(i)
            spans.append((i, len(texts), len(texts) + len(batch)))
            texts += batch
        probs, emb = np.zeros((0, len(self.labels)), np.float32), None
        if texts:  # one tokenizer call and one bucketed model pass (per expert) for every request Triton merged
            answer = self.served(texts, embeddings=bool(want))
            probs, emb = answer if want else (answer, None)
        for i, a, b in spans:
            p = probs[a:b]
            tensors = [pb_utils.Tensor("probabilities", p),
                       pb_utils.Tensor("label", self.labels[p.argmax(axis=1)].reshape(-1, 1))]
            if i in want:
                tensors.append(pb_utils.Tensor("embedding", emb[a:b]))
            out[i] = pb_utils.InferenceResponse(output_tensors=tensors)
        return [out[i] for i in range(len(requests))]
