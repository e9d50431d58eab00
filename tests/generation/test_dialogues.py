"""Real dialogues into the lake (taobao, chitchat), the reserved R10 test kept out of training, R10@k itself."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import numpy as np
import pyarrow.compute as pc
import pytest

from generation import pairs, ranking
from generation.config import GenConfig
from ingestion import public_dialogues as pd
from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from ugc import dialogues, lake, textgen
from ugc.errors import ConfigError

DAY = date(2026, 10, 3)


def test_words_are_joined_as_typed():
    assert dialogues.join_words("要 买 一把 茶刀") == "要买一把茶刀"
    assert dialogues.join_words("韵达 邮政 EMS 随机 飞") == "韵达邮政EMS随机飞"
    assert dialogues.join_words("iphone 6 plus 的 壳") == "iphone 6 plus的壳"


def test_reserved_test_set_is_1000_dialogues_of_10_candidates():
    items = dialogues.taobao_test()
    assert len(items) == 1000 and len({it.key for it in items}) == 1000
    assert all(len(it.candidates) == 10 and it.context for it in items)
    first = items[0]
    assert first.context[0] == "我去不早说发韵达能到我家那儿我就能拿到" and first.candidates[first.answer] == "发邮政的哦"


def test_missing_sdist_says_how_to_get_it(tmp_path):
    with pytest.raises(ConfigError, match="pip download --no-deps --no-binary"):
        dialogues.taobao_test(wheelhouse=str(tmp_path))


@pytest.fixture(scope="module")
def dialogue_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("dialogues")
    landing, lake_uri = str(root / "landing"), str(root / "lake")
    prov = {s: pd.write_drop(s, landing, DAY, limit=300) for s in ("taobao", "chitchat")}
    summary = ingest_day(IngestConfig(lake_uri=lake_uri, day=DAY, workers=1, isolation="thread"),
                         f"{landing}/dt={DAY.isoformat()}")
    return lake_uri, prov, summary


def test_drops_are_threads_with_provenance(dialogue_lake):
    lake_uri, prov, summary = dialogue_lake
    tb, cc = prov["taobao"], prov["chitchat"]
    assert tb["dialogues"] == 300 + 1000 and tb["reserved_dialogues"] == 1000 and cc["dialogues"] == 300
    assert tb["excluded"]["in_reserved_test"] > 0  # dev dialogues sharing a test context exist and are left out
    assert "Apache-2.0" in tb["licence"] and "MIT" in cc["licence"]
    posts = lake.read_partition(lake.partition_uri(lake_uri, DAY)).to_pylist()
    assert summary["input_rows"] == tb["rows"] + cc["rows"]
    by_id = {p["post_id"]: p for p in posts}
    # Threads survive ingest: short stock replies repeat across dialogues and are not copypasta.
    replies = [p for p in posts if p["parent_id"]]
    missing = {p["parent_id"] for p in replies} - set(by_id)
    assert len(missing) < 0.02 * len(replies)
    # A missing parent is a quarantined post (an opener copying an earlier post), never a silent loss.
    quarantined = {json.loads(q["raw"])["post_id"] for q in lake.read_quarantine(lake_uri, DAY)}
    assert missing <= quarantined
    assert {p["platform"] for p in posts} == {"taobao", "chitchat"}
    manifest = lake.read_manifest(lake.partition_uri(lake_uri, DAY))
    assert {p["source"] for p in manifest["provenance"]} >= {"taobao", "chitchat"}


@pytest.fixture(scope="module")
def dialogue_pairs(dialogue_lake, tmp_path_factory):
    cfg = GenConfig(lake_uri=dialogue_lake[0], registry_uri=str(tmp_path_factory.mktemp("reg")), tasks=("reply",),
                    max_pairs_per_task=100_000)
    m = pairs.build(cfg)
    return (m, *pairs.read(m["manifest_uri"])[1:])


def test_reserved_dialogues_never_reach_a_training_split(dialogue_lake, dialogue_pairs):
    lake_uri = dialogue_lake[0]
    m, train, test = dialogue_pairs
    posts = lake.read_partition(lake.partition_uri(lake_uri, DAY), columns=["post_id"])
    in_lake = pc.sum(pc.starts_with(posts["post_id"], "heldout:taobao:")).as_py()
    assert m["excluded"]["reserved"] == in_lake > 0.95 * sum(len(it.context) + 1 for it in dialogues.taobao_test())
    everything = [*train.to_pylist(), *test.to_pylist()]
    assert not any(r["key"].startswith("heldout:") for r in everything)
    reserved_inputs = {textgen.thread(it.context) for it in dialogues.taobao_test()}
    assert not reserved_inputs & {r["input"] for r in everything}
    # Multi-turn inputs with roles, split by conversation: no thread on both sides.
    assert any(r["input"].count("[user]") >= 2 for r in everything)
    assert not set(train["key"].to_pylist()) & set(test["key"].to_pylist())
    assert pc.all(pc.greater(pc.utf8_length(train["output"]), 0)).as_py()


def test_dev_distractors_are_the_corpus_wrong_replies():
    wrong = dialogues.taobao_dev_distractors()
    assert 4500 < len(wrong) <= 5000  # one 0-line per dev context; contexts repeat
    assert wrong[("要买一把茶刀看到有零食就拍了点", "免邮了哦", "好的谢谢哦", "不客气哦")] == ["恩呢"]
    assert all(w and key[-1] not in w for key, w in wrong.items())


def test_corpus_negatives_come_first_and_are_counted(dialogue_pairs):
    train = dialogue_pairs[1]
    train = train.filter(pc.starts_with(train["key"], "taobao:")).slice(0, 1500)  # mining is pairs x replies
    used: Counter = Counter()
    given = pairs._with_negatives(train, 3, 0, pairs._corpus_negatives(("taobao",)), used).to_pylist()
    mined = pairs._with_negatives(train, 3, 0).to_pylist()
    wrong: dict = {}  # dev contexts longer than textgen.MAX_TURNS can share one reply input
    for k, w in dialogues.taobao_dev_distractors().items():
        wrong.setdefault((textgen.thread(k[:-1]), k[-1]), []).extend(w)
    known = [(r["input"], r["output"]) in wrong for r in given]
    # The lake's dev dialogues' last replies are matched; every other reply pair keeps its mined negatives.
    assert sum(known) == used["pairs_with_corpus_negatives"] > 50
    assert all(r["negatives"][0] in wrong[(r["input"], r["output"])] for r, k in zip(given, known, strict=True) if k)
    assert all(len(r["negatives"]) == 3 and r["output"] not in r["negatives"] for r in given)
    assert all(r["negatives"] == o["negatives"] for r, o, k in zip(given, mined, known, strict=True) if not k)
    with pytest.raises(ConfigError, match="corpus_negatives"):
        GenConfig.from_dict({"lake_uri": ".", "corpus_negatives": ["weibo"]})


def test_thread_walk_survives_a_parent_cycle():
    rows = [{"post_id": "a", "parent_id": "b", "text": "x"}, {"post_id": "b", "parent_id": "a", "text": "y"}]
    by_id = {r["post_id"]: r for r in rows}
    assert pairs._thread(rows[0], by_id) == (["y"], "b")


def test_recall_at_k_on_a_known_case():
    scores = np.array([[0.9, 0.1, 0.2],    # true first: rank 1
                       [0.5, 0.7, 0.6],    # true third-best: rank 3
                       [0.3, 0.3, 0.1],    # tie with a distractor counts against: rank 2
                       [np.nan, 0.1, 0.2]])  # an unscorable true reply ranks last
    answers = np.array([0, 0, 1, 0])
    r = ranking.recall_at(scores, answers, ks=(1, 2, 3))
    assert r == {"R3@1": 0.25, "R3@2": 0.5, "R3@3": 1.0}
    assert ranking.recall_at(np.ones((5, 10)), np.zeros(5, int))["R10@5"] == 0.0  # all alike: no credit


def test_cached_scoring_equals_full_forward():
    """The shared-prefix KV cache gives each candidate the mean log-probability a plain forward pass gives."""
    import torch

    from generation import modeling

    model, tok, _ = modeling.load("tiny-random", ["你好 请问 发什么 快递 hello there"] * 20, {"n_embd": 32})
    model.eval()
    turns, cands = ["你好请问发什么快递", "默认韵达哦"], ["好的谢谢", "hello", "快递 几天 能到 呢"]
    got = ranking.score(model, tok, turns, cands)
    p = tok(textgen.prompt("reply", textgen.thread(turns)), add_special_tokens=False)["input_ids"]
    for c, g in zip(cands, got, strict=True):
        y = tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([p + y])).logits[0, len(p) - 1:-1].float(), -1)
        want = logp.gather(-1, torch.tensor(y)[:, None]).mean().item()
        assert abs(g - want) < 2e-2  # bf16 autocast on AMX CPUs; exact in float32
    assert json.dumps(got)  # plain floats


def test_cli_writes_dialogue_drops_and_refuses_unknown_sources(tmp_path, capsys):
    from ops import cli

    assert cli.main(["public-data", "--source", "taobao", "--source", "chitchat", "--out", str(tmp_path),
                     "--day", "2026-10-03", "--limit", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["source"] for o in out] == ["taobao", "chitchat"] and out[1]["dialogues"] == 5
    assert out[0]["dialogues"] == 5 + 1000  # every reserved dialogue is written, whatever the limit
    assert cli.main(["public-data", "--source", "nope", "--out", str(tmp_path), "--day", "2026-10-03"]) != 0
