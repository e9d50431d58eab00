"""Triton python-backend model ``generator``: instruction prompt -> generated text, safety-filtered.

Inputs per row: PROMPT, TASK (BYTES), MAX_NEW_TOKENS (INT32), TEMPERATURE, TOP_P (FP32), SEED (INT64).
Outputs per row: TEXT (BYTES, "" when blocked), BLOCKED (BOOL), REASONS (BYTES, JSON list).

The version directory holds this file, ugc/{textgen,safety,vocab,settings}.py (copied from the core package:
the prompt template and the safety filter), the model under hf/, and ugc_generation.json (tasks, template).
A request with an invalid row gets an INVALID_ARG error naming the field; the other requests of the batch
are still served.
"""

import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        sys.path.insert(0, here)  # this version's own copy of the core modules, not whatever else is on the path
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ugc import safety, textgen

        self.textgen, self.safety = textgen, safety
        with open(os.path.join(here, "ugc_generation.json"), encoding="utf-8") as f:
            self.meta = json.load(f)
        gpu = args.get("model_instance_kind") == "GPU" and torch.cuda.is_available()
        self.device = torch.device(f"cuda:{args.get('model_instance_device_id', '0')}" if gpu else "cpu")
        self.tok = AutoTokenizer.from_pretrained(os.path.join(here, "hf"))
        dtype = torch.bfloat16 if gpu else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(os.path.join(here, "hf"), dtype=dtype).to(self.device).eval()
        self.terms = safety.banned_terms()

    def _rows(self, req):
        def col(name):
            return pb_utils.get_input_tensor_by_name(req, name).as_numpy().reshape(-1)

        prompts, tasks = col("PROMPT"), col("TASK")
        mnt, temp, top_p, seed = col("MAX_NEW_TOKENS"), col("TEMPERATURE"), col("TOP_P"), col("SEED")
        rows = []
        for i in range(len(prompts)):
            # Bytes before characters: nothing oversized is decoded (4 bytes per character at most).
            if len(prompts[i]) > 4 * self.textgen.MAX_PROMPT_CHARS or len(tasks[i]) > 64:
                raise ValueError(f"prompt is {len(prompts[i])} bytes; the limit is {self.textgen.MAX_PROMPT_CHARS} "
                                 "characters")
            text = prompts[i].decode("utf-8") if isinstance(prompts[i], bytes) else str(prompts[i])
            task = tasks[i].decode("utf-8") if isinstance(tasks[i], bytes) else str(tasks[i])
            p = self.textgen.Params(int(mnt[i]), float(temp[i]), float(top_p[i]), int(seed[i]))
            self.textgen.validate(task, text, p, self.meta["tasks"])
            rows.append((self.textgen.prompt(task, text), p))
        return rows

    def execute(self, requests):
        responses = [None] * len(requests)
        groups = {}  # greedy rows share a batch across requests; sampled rows stay with their request + seed
        for r, req in enumerate(requests):
            try:
                rows = self._rows(req)
            except (ValueError, UnicodeDecodeError) as e:
                code = getattr(pb_utils.TritonError, "INVALID_ARG", None)
                err = pb_utils.TritonError(f"invalid request: {e}", *([code] if code is not None else []))
                responses[r] = pb_utils.InferenceResponse(error=err)
                continue
            for i, (prompt, p) in enumerate(rows):
                key = ("greedy", p.max_new_tokens) if p.temperature == 0 else ("sample", r, p)
                groups.setdefault(key, []).append((r, i, prompt, p))
        outputs = {}
        for items in groups.values():
            texts = self.textgen.generate(self.model, self.tok, [it[2] for it in items], items[0][3],
                                          self.meta.get("max_prompt_tokens", 256))
            for (r, i, _, _), t in zip(items, texts, strict=True):
                outputs.setdefault(r, {})[i] = self.safety.check(t, self.terms)
        for r in range(len(requests)):
            if responses[r] is not None:
                continue
            verdicts = [outputs[r][i] for i in sorted(outputs.get(r, {}))]
            text = np.array([v.text.encode("utf-8") for v in verdicts], dtype=object).reshape(-1, 1)
            blocked = np.array([v.blocked for v in verdicts], dtype=bool).reshape(-1, 1)
            reasons = np.array([json.dumps(v.reasons).encode() for v in verdicts], dtype=object).reshape(-1, 1)
            responses[r] = pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("TEXT", text), pb_utils.Tensor("BLOCKED", blocked), pb_utils.Tensor("REASONS", reasons)])
        return responses
