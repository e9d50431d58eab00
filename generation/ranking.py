"""Response selection as the field measures it: R10@k on the reserved Taobao test (E-commerce Dialogue Corpus).

Each test dialogue has 10 candidate replies, one true. A model ranks them by the mean log-likelihood of the
candidate's tokens given the dialogue (``textgen.prompt("reply", textgen.thread(turns))``), and R10@k is the share
of dialogues whose true reply ranks in the top k. Ties count against the model (a candidate scoring the same as
the true one ranks above it), so a model that scores everything alike gets R10@1 = 0, not the 10 % or 100 %
that index order would give (the true reply is always first in the file).

Published R10@1 anchors on this corpus: DUA 0.501, DAM 0.526, BERT 0.610.
"""

from __future__ import annotations

import numpy as np

from ugc import textgen

KS = (1, 2, 5)


def recall_at(scores: np.ndarray, answers: np.ndarray, ks=KS) -> dict[str, float]:
    """R10@k from a (dialogues x candidates) score matrix and the true candidate's column per row."""
    scores = np.asarray(scores, dtype=np.float64)
    true = scores[np.arange(len(scores)), answers]
    # 1-based rank with ties resolved against the true reply; NaN (an unscorable candidate) ranks last.
    scores = np.where(np.isnan(scores), -np.inf, scores)
    true = np.where(np.isnan(true), -np.inf, true)
    rank = (scores >= true[:, None]).sum(axis=1)
    n = scores.shape[1]
    return {f"R{n}@{k}": float((rank <= k).mean()) if len(rank) else 0.0 for k in ks}


def score(model, tok, turns, candidates, max_length: int = 256) -> list[float]:
    """Mean token log-likelihood of each candidate as the reply to ``turns``.

    The dialogue is encoded once and its key/value cache shared by the candidates (2x faster than scoring ten
    full sequences here), and the vocabulary projection runs on the positions that predict candidate tokens only.
    """
    import torch

    p = tok(textgen.prompt("reply", textgen.thread(turns)), add_special_tokens=False)["input_ids"]
    ys = [(tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])[: max_length // 2] for c in candidates]
    p = p[-(max_length - max(map(len, ys))):]  # the dialogue's end matters most: keep it
    width = max(map(len, ys))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    y_ids = torch.full((len(ys), width), pad, dtype=torch.long)
    y_mask = torch.zeros_like(y_ids)
    for i, y in enumerate(ys):
        y_ids[i, : len(y)], y_mask[i, : len(y)] = torch.tensor(y), 1
    dev = model.device
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=_bf16(model)):
        # Only the prompt's last position predicts a candidate token: no vocabulary projection for the rest.
        first = model(input_ids=torch.tensor([p], device=dev), use_cache=True, logits_to_keep=1)
        cache = first.past_key_values
        cache.batch_repeat_interleave(len(ys))
        mask = torch.cat([torch.ones((len(ys), len(p)), dtype=torch.long), y_mask], dim=1).to(dev)
        rest = model(input_ids=y_ids.to(dev), attention_mask=mask, past_key_values=cache)
        logits = torch.cat([first.logits[:, -1:].expand(len(ys), -1, -1), rest.logits[:, :-1]], dim=1).float()
    tok_lp = logits.gather(-1, y_ids.to(dev).unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    keep = y_mask.to(dev).bool()
    return ((tok_lp * keep).sum(1) / keep.sum(1)).tolist()


def _bf16(model) -> bool:
    from ugc.inference import cpu_bf16

    return model.device.type == "cpu" and cpu_bf16()


def evaluate(model, tok, items, max_length: int = 256) -> dict:
    """R10@k over ``items`` (``ugc.dialogues.RankingItem``) and how many dialogues were scored."""
    model.eval()
    scores = np.array([score(model, tok, it.context, it.candidates, max_length) for it in items])
    answers = np.array([it.answer for it in items])
    return {**recall_at(scores, answers), "dialogues": len(items)}
