"""Causal-LM fine-tuning on instruction pairs (loss on response tokens only) and held-out perplexity."""

from __future__ import annotations

import logging
import math
import random
import time

import pyarrow as pa

from generation import metrics
from generation.config import GenConfig
from ugc import textgen

log = logging.getLogger(__name__)
IGNORE = -100


def encode(tok, rows: list[dict], max_length: int) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) per pair; prompt tokens are masked so only the response is learned."""
    out = []
    for r in rows:
        p = tok(textgen.prompt(r["task"], r["input"]), add_special_tokens=False)["input_ids"]
        y = tok(r["output"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        p = p[-(max_length // 2):]  # keep the prompt's end (the "### Response:" marker) when it is long
        ids = (p + y)[:max_length]
        out.append((ids, [IGNORE] * len(p) + ids[len(p):]))
    return out


def _batch(items, pad_id: int, device):
    import torch

    width = max(len(i) for i, _ in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, (i, y) in enumerate(items):
        ids[row, :len(i)], labels[row, :len(y)], mask[row, :len(i)] = torch.tensor(i), torch.tensor(y), 1
    return ids.to(device), mask.to(device), labels.to(device)


def nll(model, tok, table: pa.Table, max_length: int, batch_size: int = 16) -> tuple[float, int]:
    """Summed negative log-likelihood of the response tokens and their count."""
    import torch

    model.eval()
    items = encode(tok, table.to_pylist(), max_length)
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(items), batch_size):
            ids, mask, labels = _batch(items[i:i + batch_size], tok.pad_token_id, model.device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                     ignore_index=IGNORE, reduction="sum")
            total += loss.item()
            count += int((target != IGNORE).sum())
    return total, count


def perplexity(model, tok, table: pa.Table, max_length: int) -> float:
    return metrics.perplexity(*nll(model, tok, table, max_length))


def fit(cfg: GenConfig, model, tok, train: pa.Table) -> dict:
    """AdamW with warmup + linear decay over the trainable parameters (LoRA adapters, or all)."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    items = encode(tok, train.to_pylist(), cfg.max_length)
    steps_per_epoch = math.ceil(len(items) / cfg.batch_size)
    total = cfg.max_steps or steps_per_epoch * cfg.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    warm = max(1, int(total * cfg.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm + 1))))
    rng = random.Random(cfg.seed)
    losses, step, t0, n_tok = [], 0, time.time(), 0
    while step < total:
        order = list(range(len(items)))
        rng.shuffle(order)
        for i in range(0, len(order), cfg.batch_size):
            if step >= total:
                break
            ids, mask, labels = _batch([items[j] for j in order[i:i + cfg.batch_size]], tok.pad_token_id, device)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            n_tok += int(mask.sum())
            step += 1
            if step % 20 == 0 or step == total:
                log.info("step %d/%d loss %.4f", step, total, sum(losses[-20:]) / len(losses[-20:]))
    secs = time.time() - t0
    model.eval()
    k = max(1, min(10, len(losses) // 4))
    return {"steps": step, "device": str(device), "seconds": round(secs, 1), "tokens_per_s": round(n_tok / secs, 1),
            "first_loss": sum(losses[:k]) / k, "last_loss": sum(losses[-k:]) / k,
            "trainable_params": sum(p.numel() for p in params),
            "total_params": sum(p.numel() for p in model.parameters())}
