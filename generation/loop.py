"""Causal-LM fine-tuning on instruction pairs (loss on response tokens only) and held-out perplexity.

Reproducible and resumable like the sentiment loop: the batch order of epoch e is a permutation seeded by
(seed, e), and a checkpoint (trainable weights, optimizer, scheduler, RNG states, position) is written every
``checkpoint_every_steps``; a rerun with the same run_id continues from it and makes the same updates.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pyarrow as pa

from generation import metrics
from generation.config import GenConfig
from ugc import checkpoints, storage, textgen
from ugc.errors import ConfigError
from ugc.inference import cpu_bf16

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


def pack(items: list[tuple[list[int], list[int]]], max_length: int) -> list[tuple[list[int], list[int]]]:
    """Consecutive pairs concatenated into rows of at most ``max_length`` tokens (each pair ends with EOS; the
    prompt of every pair stays masked). Attention crosses pair boundaries, as in GPT-style packing: cheap, and
    the EOS teaches the model where a reply ends."""
    rows, ids, labels = [], [], []
    for i, y in items:
        if ids and len(ids) + len(i) > max_length:
            rows.append((ids, labels))
            ids, labels = [], []
        ids, labels = ids + i, labels + y
    if ids:
        rows.append((ids, labels))
    return rows


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


def autocast_dtype(cfg: GenConfig, device):
    """bf16 where the device multiplies it natively (master weights stay float32), else None."""
    import torch

    if cfg.amp == "off":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_bf16() else None


def fit(cfg: GenConfig, model, tok, train: pa.Table) -> dict:
    """AdamW with warmup + linear decay over the trainable parameters (LoRA adapters, or all)."""
    import torch

    from generation import selection  # it builds on this module's encoding

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    rank = cfg.rank_negatives > 0  # each item a group: the true reply, then its negatives (never packed)
    if rank:
        items = selection.encode_groups(tok, train.to_pylist(), cfg.max_length)
    else:
        items = encode(tok, train.to_pylist(), cfg.max_length)
        if cfg.packing:
            items = pack(items, cfg.max_length)
    steps_per_epoch = math.ceil(len(items) / cfg.batch_size)
    total = cfg.max_steps or steps_per_epoch * cfg.epochs
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    warm = max(1, int(total * cfg.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm + 1))))
    amp = autocast_dtype(cfg, device)
    fingerprint = {"rows": len(items), "total": total, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                   "max_length": cfg.max_length, "packing": cfg.packing, "base_model": cfg.base_model,
                   "method": cfg.method, "trainable": len(named)}
    if rank:
        fingerprint.update(rank_negatives=cfg.rank_negatives, rank_weight=cfg.rank_weight, rank_scale=cfg.rank_scale)
    state = {"step": 0, "losses": [], "tokens": 0, "fingerprint": fingerprint}
    resumed_from = None
    if ckpts := checkpoints.listed(cfg.work):
        ck = checkpoints.load(ckpts[-1])
        if ck["state"]["fingerprint"] != fingerprint:
            raise ConfigError(f"checkpoint {ckpts[-1]} was made by a different run ({ck['state']['fingerprint']} vs "
                              f"{fingerprint}); use a new run_id")
        with torch.no_grad():
            for n, p in named:
                p.copy_(ck["trainable"][n])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        checkpoints.set_rng_state(ck["rng"])
        state = ck["state"]
        resumed_from = state["step"]
        log.info("resumed from %s (step %d)", ckpts[-1], state["step"])
    t0, n_tok, done_here = time.perf_counter(), 0, 0
    while state["step"] < total:
        epoch, pos = divmod(state["step"], steps_per_epoch)
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(items))
        batch = [items[j] for j in order[pos * cfg.batch_size:(pos + 1) * cfg.batch_size]]
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            if rank:
                loss, tokens = selection.group_loss(model, batch, tok.pad_token_id, device, cfg.rank_scale,
                                                    cfg.rank_weight)
            else:
                ids, mask, labels = _batch(batch, tok.pad_token_id, device)
                loss, tokens = model(input_ids=ids, attention_mask=mask, labels=labels).loss, int(mask.sum())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        state["step"] += 1
        state["losses"].append(loss.item())
        n_tok += tokens
        done_here += 1
        if state["step"] % 20 == 0 or state["step"] == total:
            log.info("step %d/%d loss %.4f %.0f tokens/s", state["step"], total,
                     sum(state["losses"][-20:]) / len(state["losses"][-20:]), n_tok / (time.perf_counter() - t0))
        if state["step"] % cfg.checkpoint_every_steps == 0 or state["step"] == total:
            checkpoints.save({"trainable": {n: p.detach().cpu() for n, p in named}, "optimizer": opt.state_dict(),
                              "scheduler": sched.state_dict(), "rng": checkpoints.rng_state(), "state": state},
                             storage.join(cfg.work, "checkpoints", f"ckpt-{state['step']:08d}.pt"))
            for old in checkpoints.listed(cfg.work)[:-1]:  # keep the newest only
                storage.delete(old)
    secs = time.perf_counter() - t0
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    model.eval()
    losses = state["losses"]
    k = max(1, min(10, len(losses) // 4))
    return {"steps": state["step"], "device": str(device), "autocast": str(amp).replace("torch.", "") if amp else "off",
            "packed_rows": len(items) if cfg.packing and not rank else None, "seconds": round(secs, 1),
            "tokens_per_s": round(n_tok / secs, 1) if secs and done_here else None, "resumed_from_step": resumed_from,
            "first_loss": sum(losses[:k]) / k, "last_loss": sum(losses[-k:]) / k,
            "trainable_params": sum(p.numel() for p in params),
            "total_params": sum(p.numel() for p in model.parameters())}
