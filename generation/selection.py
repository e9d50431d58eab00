"""Response selection as a training signal: the true reply must out-score wrong ones given the dialogue.

Mean token log-likelihood is how the reserved Taobao test ranks candidates (``generation.ranking``), and a model
trained on the language-modelling loss alone learns to give short, generic replies ("好的亲") a high likelihood
whatever was asked. With ``rank_negatives = k`` each reply pair is trained with k wrong replies beside it: the
loss is the language-modelling loss on the true reply plus ``rank_weight`` x the cross-entropy of picking the true
reply among the k + 1 by ``rank_scale`` x their mean token log-likelihood, the very score the ranking uses (the
sequence-level contrastive loss that response-selection models train with, applied to a generator).

Negatives come from the training replies only (the reserved test is never read here): half are the replies most
similar to the dialogue (character 1-2-gram TF-IDF: the corpus's own distractors were retrieved by the dialogue's
words, so a reply on the right topic must still lose to the one that answers), half are drawn at random. None is
from the same conversation or equal to the true reply.
"""

from __future__ import annotations

import numpy as np

from generation.loop import IGNORE, _batch, encode

_CHUNK = 1024  # dialogues per similarity block: 1024 x 20k replies of float32 is ~80 MB


def _bigrams(a: str) -> frozenset:
    return frozenset(a[i:i + 2] for i in range(len(a) - 1)) or frozenset((a,))


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of character bigrams (a paraphrase of the true reply is not a wrong reply)."""
    return _jaccard(_bigrams(a), _bigrams(b))


def _jaccard(x: frozenset, y: frozenset) -> float:
    return len(x & y) / len(x | y)


def mine_negatives(inputs: list[str], outputs: list[str], keys: list[str], k: int, seed: int,
                   top: int = 30, max_overlap: float = 0.5) -> list[list[str]]:
    """``k`` wrong replies for each (input, output, key) reply pair, drawn from the other pairs' outputs."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pool = sorted(set(outputs))
    owners: dict[str, set] = {}
    for out, key in zip(outputs, keys, strict=True):
        owners.setdefault(out, set()).add(key)
    if k <= 0 or not pool:
        return [[] for _ in inputs]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)
    try:
        vec.fit(pool + list(inputs))
        replies = vec.transform(pool).T.tocsr()
    except ValueError:  # no character occurs twice (a tiny or empty pool): every negative is drawn at random
        replies = None
    grams = [_bigrams(p) for p in pool]  # once per reply, not once per comparison
    rng = np.random.default_rng(seed)
    hard_n = (k + 1) // 2 if replies is not None else 0
    result = []
    for start in range(0, len(inputs), _CHUNK):
        chunk = inputs[start:start + _CHUNK]
        sims = (vec.transform(chunk) @ replies).toarray() if replies is not None else \
            np.zeros((len(chunk), len(pool)), np.float32)
        n_top = min(top + k, len(pool))
        best = np.argpartition(-sims, n_top - 1, axis=1)[:, :n_top] if n_top < len(pool) else \
            np.tile(np.arange(len(pool)), (len(sims), 1))
        for row, cand in enumerate(best):
            i = start + row
            own = _bigrams(outputs[i])

            def ok(j, chosen, i=i, own=own):
                return pool[j] != outputs[i] and keys[i] not in owners[pool[j]] and j not in chosen \
                    and _jaccard(grams[j], own) <= max_overlap

            chosen: list[int] = []
            ranked = cand[np.argsort(-sims[row, cand], kind="stable")]
            hard = [j for j in ranked if ok(j, ())][:top] if hard_n else []
            if hard:
                chosen += [int(j) for j in rng.choice(hard, size=min(hard_n, len(hard)), replace=False)]
            for _ in range(50 * k):  # random fill; the guard ends it when the pool has too few usable replies
                if len(chosen) == k:
                    break
                j = int(rng.integers(len(pool)))
                if ok(j, chosen):
                    chosen.append(j)
            result.append([pool[j] for j in chosen])
    return result


def sequence_scores(model, ids, mask, labels):
    """(mean, sum, count) of the log-probabilities of each row's labelled tokens.

    The decoder runs on every position, but the vocabulary projection only on the positions that predict a
    labelled token: for 16 pairs x 8 candidates x 160 tokens, float32 logits over Qwen's 152k vocabulary would be
    ~12 GB per step.
    """
    import torch

    hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    target = labels[:, 1:]
    where = target != IGNORE
    logits = model.get_output_embeddings()(hidden[:, :-1][where]).float()
    lp = logits.gather(-1, target[where].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    row = torch.arange(len(ids), device=ids.device).unsqueeze(1).expand_as(target)[where]
    sums = torch.zeros(len(ids), device=ids.device, dtype=lp.dtype).index_add(0, row, lp)
    counts = where.sum(1)
    return sums / counts.clamp(min=1), sums, counts


def encode_groups(tok, rows: list[dict], max_length: int) -> list[list[tuple[list[int], list[int]]]]:
    """Per pair: its true reply's (input_ids, labels) first, then one per negative (same prompt)."""
    return [encode(tok, [r] + [{**r, "output": n} for n in (r.get("negatives") or [])], max_length) for r in rows]


def group_loss(model, groups, pad_id: int, device, scale: float, weight: float):
    """(loss, tokens): LM loss on the true replies + ``weight`` x the cross-entropy of the true reply's rank.

    Groups without negatives (ad copy and rewrite pairs) add to the LM loss only.
    """
    import torch

    flat = [item for g in groups for item in g]
    ids, mask, labels = _batch(flat, pad_id, device)
    mean, sums, counts = sequence_scores(model, ids, mask, labels)
    firsts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    first = torch.as_tensor(firsts, device=device)
    lm = -sums[first].sum() / counts[first].sum().clamp(min=1)
    full = [(f, len(g)) for f, g in zip(firsts, groups, strict=True) if len(g) > 1]
    if not full or weight == 0:
        return lm, int(mask.sum())
    width = max(n for _, n in full)
    full = [(f, n) for f, n in full if n == width]  # pairs short of negatives rank among fewer: left to the LM loss
    index = torch.as_tensor([[f + j for j in range(width)] for f, _ in full], device=device)
    ranked = torch.nn.functional.cross_entropy(scale * mean[index],
                                               torch.zeros(len(full), dtype=torch.long, device=device))
    return lm + weight * ranked, int(mask.sum())
