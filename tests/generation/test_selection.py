"""The response-selection loss (generation.selection): mined negatives, scores, and that training on it teaches a
model to rank the true reply first by the very score the reserved Taobao test uses."""

import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generation import pairs, selection
from tests.generation.conftest import gen_config

TOPICS = {"快递": ["发什么快递", "默认发韵达快递哦"], "尺码": ["这件衣服尺码偏大吗", "尺码标准按平时穿的拍"],
          "发票": ["可以开发票吗", "可以开增值税发票的"], "退货": ["不合适能退货吗", "七天无理由退货的亲"],
          "颜色": ["有没有别的颜色", "还有黑色和白色两种"], "价格": ["能便宜点吗", "已经是最低价了哦"]}


def _rows(copies: int = 3):
    rows = []
    for n in range(copies):
        for t, (q, a) in TOPICS.items():
            rows.append({"task": "reply", "input": f"[user] 你好{n} {q}", "output": a, "key": f"{t}{n}"})
    return rows


def test_negatives_are_other_conversations_replies_never_the_true_one_or_a_paraphrase():
    rows = _rows() + [{"task": "reply", "input": "[user] 发什么快递", "output": "默认发韵达快递哦亲", "key": "x"}]
    inputs, outputs, keys = ([r[c] for r in rows] for c in ("input", "output", "key"))
    mined = selection.mine_negatives(inputs, outputs, keys, k=4, seed=1)
    assert [len(m) for m in mined] == [4] * len(rows)
    owners = {}
    for o, k in zip(outputs, keys, strict=True):
        owners.setdefault(o, set()).add(k)
    for r, negs in zip(rows, mined, strict=True):
        assert len(set(negs)) == 4 and r["output"] not in negs
        assert all(n in owners and r["key"] not in owners[n] for n in negs)  # from other conversations only
        assert all(selection._overlap(n, r["output"]) <= 0.5 for n in negs)  # "...快递哦亲" is not a wrong reply
    assert mined == selection.mine_negatives(inputs, outputs, keys, k=4, seed=1)  # deterministic
    # A pool with too few usable replies gives fewer negatives instead of looping or repeating one.
    few = selection.mine_negatives(["[user] a", "[user] b"], ["甲乙丙", "丁戊己"], ["1", "2"], k=5, seed=0)
    assert few == [["丁戊己"], ["甲乙丙"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6), st.sampled_from("abc")), max_size=12),
       st.integers(1, 4))
def test_any_pairs_get_valid_negatives_without_crashing(rows, k):
    """Empty, one-character, duplicated or term-less texts (hostile posts reach the pairs) never stop pair building."""
    inputs, outputs, keys = ([r[c] for r in rows] for c in range(3))
    mined = selection.mine_negatives(inputs, outputs, keys, k=k, seed=0)
    assert len(mined) == len(rows)
    owners = {}
    for o, key in zip(outputs, keys, strict=True):
        owners.setdefault(o, set()).add(key)
    for (_, out, key), negs in zip(rows, mined, strict=True):
        assert len(negs) <= k and len(set(negs)) == len(negs) and out not in negs
        assert all(key not in owners[n] and selection._overlap(n, out) <= 0.5 for n in negs)


def test_sequence_scores_equal_the_full_vocabulary_projection():
    import torch

    from generation import loop, modeling

    model, tok, _ = modeling.load("tiny-random", [r["input"] + r["output"] for r in _rows()] * 5, {"n_embd": 32})
    model.eval()
    groups = selection.encode_groups(tok, [{**r, "negatives": ["尺码标准", "好的"]} for r in _rows(1)], 64)
    ids, mask, labels = loop._batch([i for g in groups for i in g], tok.pad_token_id, torch.device("cpu"))
    with torch.no_grad():
        mean, sums, counts = selection.sequence_scores(model, ids, mask, labels)
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)
    target = labels[:, 1:]
    keep = target != loop.IGNORE
    want = (logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep).sum(1)
    assert torch.allclose(sums, want, atol=1e-4) and torch.equal(counts, keep.sum(1))
    assert torch.allclose(mean, want / keep.sum(1), atol=1e-5)


def _margin(model, tok, groups):
    """Mean lead of the true reply's mean log-likelihood over its best negative (the ranking's score)."""
    import torch

    from generation import loop

    ids, mask, labels = loop._batch([i for g in groups for i in g], tok.pad_token_id, torch.device("cpu"))
    with torch.no_grad():
        mean = selection.sequence_scores(model, ids, mask, labels)[0].view(len(groups), -1)
    return float((mean[:, 0] - mean[:, 1:].max(1).values).mean())


def test_the_selection_loss_widens_the_true_replys_lead_where_the_lm_loss_does_not(tmp_path):
    import torch

    from generation import modeling

    rows = _rows(2)
    mined = selection.mine_negatives(*([r[c] for r in rows] for c in ("input", "output", "key")), k=3, seed=0)
    rows = [{**r, "negatives": n} for r, n in zip(rows, mined, strict=True)]
    corpus = [r["input"] + r["output"] for r in rows] * 5
    lead = {}
    for weight in (0.0, 1.0):
        model, tok, _ = modeling.load("tiny-random", corpus, {"n_embd": 32}, seed=3)
        groups = selection.encode_groups(tok, rows, 64)
        before = _margin(model, tok, groups)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(15):
            loss, tokens = selection.group_loss(model, groups, tok.pad_token_id, torch.device("cpu"), 4.0, weight)
            loss.backward()
            opt.step()
            opt.zero_grad()
        lead[weight] = _margin(model, tok, groups) - before
        assert tokens == sum(len(i) for g in groups for i, _ in g)
    assert lead[1.0] > 0.1 and lead[1.0] > lead[0.0] + 0.1


def test_the_loop_trains_groups_unpacked_and_refuses_a_checkpoint_of_another_selection_setting(tmp_path):
    import pyarrow as pa

    from tests.generation.test_training import _fit
    from ugc.errors import ConfigError

    rows = _rows(2)
    mined = selection.mine_negatives(*([r[c] for r in rows] for c in ("input", "output", "key")), k=2, seed=0)
    train = pa.Table.from_pylist([{**r, "lang": "zh", "negatives": n} for r, n in zip(rows, mined, strict=True)])
    kw = {"work_uri": str(tmp_path / "w"), "max_steps": 4, "batch_size": 4, "checkpoint_every_steps": 2}
    _, summary = _fit(gen_config("unused", "unused", rank_negatives=2, **kw), train)
    assert summary["steps"] == 4 and summary["packed_rows"] is None and summary["first_loss"] > 0
    with pytest.raises(ConfigError, match="different run"):
        _fit(gen_config("unused", "unused", rank_negatives=2, rank_scale=1.0, **kw), train)  # same run otherwise


def test_pairs_carry_negatives_mined_from_training_replies_only(small_lake, tmp_path):
    cfg = gen_config(small_lake, str(tmp_path / "reg"), rank_negatives=3)
    _, train, test = pairs.read(pairs.build(cfg)["manifest_uri"])
    reply = train.filter(pc.equal(train["task"], "reply"))
    other = train.filter(pc.not_equal(train["task"], "reply"))
    assert all(len(n) == 3 for n in reply["negatives"].to_pylist())
    assert all(n == [] for n in other["negatives"].to_pylist())
    outputs = set(reply["output"].to_pylist())
    assert {n for ns in reply["negatives"].to_pylist() for n in ns} <= outputs  # drawn from training replies
    assert "negatives" not in test.column_names
    plain = pairs.read(pairs.build(gen_config(small_lake, str(tmp_path / "reg2")))["manifest_uri"])[1]
    assert "negatives" not in plain.column_names and plain.num_rows == train.num_rows


@pytest.mark.parametrize("bad", [-1, 32])
def test_config_bounds_rank_negatives(small_lake, bad):
    from ugc.errors import ConfigError

    with pytest.raises(ConfigError, match="rank_negatives"):
        gen_config(small_lake, "unused", rank_negatives=bad)
