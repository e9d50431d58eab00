"""Triton python-backend model ``generator``: instruction prompt -> generated text, safety-filtered.

Inputs per row: PROMPT, TASK (BYTES), MAX_NEW_TOKENS (INT32), TEMPERATURE, TOP_P (FP32), SEED (INT64), and
optional STREAM (BOOL). Outputs per row: TEXT (BYTES, "" when blocked), BLOCKED (BOOL), REASONS (BYTES, JSON list).

Decoupled (Triton's streaming transaction policy): a plain request gets one final response; a STREAM request (one
row) gets a response per released clause, TEXT holding the new text only, released by ``safety.StreamFilter``
after the whole text so far passed the safety filter, then a final response with the verdict (TEXT "").

The version directory holds this file, runners.py (for its compute_heap), ugc/{textgen,safety,vocab,settings}.py
(copied from the core package: the prompt template and the safety filter), the model under hf/, and
ugc_generation.json (tasks, template).
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
        import runners

        runners.compute_heap()  # the server's 128 KB mmap threshold cost generate() 1.36x (53.5 vs 72.9 tokens/s)
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
        self.final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL

    def _rows(self, req):
        def col(name):
            return pb_utils.get_input_tensor_by_name(req, name).as_numpy().reshape(-1)

        prompts, tasks = col("PROMPT"), col("TASK")
        mnt, temp, top_p, seed = col("MAX_NEW_TOKENS"), col("TEMPERATURE"), col("TOP_P"), col("SEED")
        stream = pb_utils.get_input_tensor_by_name(req, "STREAM")
        stream = bool(stream is not None and stream.as_numpy().reshape(-1).any())
        if stream and len(prompts) != 1:
            raise ValueError(f"a STREAM request holds one prompt, got {len(prompts)}")
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
        return rows, stream

    @staticmethod
    def _response(texts, blocked, reasons):
        return pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor("TEXT", np.array([t.encode("utf-8") for t in texts], dtype=object).reshape(-1, 1)),
            pb_utils.Tensor("BLOCKED", np.array(blocked, dtype=bool).reshape(-1, 1)),
            pb_utils.Tensor("REASONS", np.array([json.dumps(r).encode() for r in reasons], dtype=object).reshape(-1, 1))])

    def _stream(self, sender, prompt, p):
        f = self.safety.StreamFilter(self.terms)
        cancelled = getattr(sender, "is_cancelled", lambda: False)
        for piece in self.textgen.stream(self.model, self.tok, prompt, p, self.meta.get("max_prompt_tokens", 256)):
            if cancelled():  # the caller went away: stop generating for nobody
                break
            out = f.feed(piece)
            if out:
                sender.send(self._response([out], [False], [f.reasons]))
            if f.blocked:
                break  # stops generation too
        if cancelled():  # release the request; nobody reads a reply
            sender.send(flags=self.final)
            return
        rest = f.close()
        if rest:
            sender.send(self._response([rest], [False], [f.reasons]))
        sender.send(self._response([""], [f.blocked], [f.reasons]), flags=self.final)

    def execute(self, requests):
        senders = [req.get_response_sender() for req in requests]
        groups, streams, pending = {}, [], []  # greedy rows share a batch; sampled rows stay with request + seed
        for r, req in enumerate(requests):
            try:
                rows, stream = self._rows(req)
            except (ValueError, UnicodeDecodeError) as e:
                code = getattr(pb_utils.TritonError, "INVALID_ARG", None)
                err = pb_utils.TritonError(f"invalid request: {e}", *([code] if code is not None else []))
                senders[r].send(pb_utils.InferenceResponse(error=err), flags=self.final)
                continue
            if stream:
                streams.append((r, *rows[0]))
                continue
            pending.append(r)
            for i, (prompt, p) in enumerate(rows):
                key = ("greedy", p.max_new_tokens) if p.temperature == 0 else ("sample", r, p)
                groups.setdefault(key, []).append((r, i, prompt, p))
        outputs = {}
        for items in groups.values():
            texts = self.textgen.generate(self.model, self.tok, [it[2] for it in items], items[0][3],
                                          self.meta.get("max_prompt_tokens", 256))
            for (r, i, _, _), t in zip(items, texts, strict=True):
                outputs.setdefault(r, {})[i] = self.safety.check(t, self.terms)
        for r in pending:
            v = [outputs[r][i] for i in sorted(outputs.get(r, {}))]
            senders[r].send(self._response([x.text for x in v], [x.blocked for x in v], [x.reasons for x in v]),
                            flags=self.final)
        for r, prompt, p in streams:
            self._stream(senders[r], prompt, p)
        return None  # decoupled: every response went through its request's sender
