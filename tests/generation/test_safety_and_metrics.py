import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generation import metrics, pairs
from ugc import safety, textgen


@pytest.mark.parametrize("text,term", [
    ("you should kill yourself", "kill yourself"),
    ("KILL   Yourself now", "kill yourself"),  # case and spacing
    ("ｋｉｌｌ ｙｏｕｒｓｅｌｆ", "kill yourself"),  # full-width, as typed on a Chinese IME
    ("这种人就该去死", "去死"),
    ("专业代开发票，联系我", "代开发票"),
    ("lol kys", "kys"),
])
def test_planted_banned_terms_are_blocked(text, term):
    v = safety.check(text)
    assert v.blocked and v.text == "" and f"banned:{term}" in v.reasons


@pytest.mark.parametrize("text,kind,placeholder", [
    ("call me at 13812345678 ok", "phone", "[PHONE]"),
    ("联系 +86 138-1234-5678", "phone", "[PHONE]"),
    ("mail me: someone.x@example.com", "email", "[EMAIL]"),
    ("see https://t.example.com/abc?x=1", "url", "[URL]"),
    ("身份证 11010519491231002X 请核对", "id_number", "[ID]"),
])
def test_pii_in_generated_text_is_redacted(text, kind, placeholder):
    v = safety.check(text)
    assert not v.blocked and v.reasons == [f"pii:{kind}"] and placeholder in v.text
    assert not any(ch.isdigit() for ch in v.text.split(placeholder)[0][-3:])  # no digits left before it


def test_clean_text_passes_and_ascii_terms_match_whole_words_only():
    for text in ("这款耳机音质很好，推荐！", "Great skills, my kysa friend", "order 12 items"):
        assert safety.check(text) == safety.Verdict(text, False, [])


def test_deployment_terms_file_extends_the_list(tmp_path, monkeypatch):
    f = tmp_path / "banned.txt"
    f.write_text("# house rules\n竞品垃圾\n", encoding="utf-8")
    monkeypatch.setenv("UGC_BANNED_TERMS_FILE", str(f))
    assert safety.check("买它别买竞品垃圾").blocked
    assert "# house rules" not in safety.banned_terms()


def test_distinct_and_repetition_on_known_text():
    assert metrics.tokens("好的 great Phone!") == ["好", "的", "great", "phone"]
    assert metrics.distinct_n(["a b c", "a b d"], 1) == pytest.approx(4 / 6)
    assert metrics.distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert metrics.repetition_rate("a b c a b c a b c") == pytest.approx(4 / 7)  # 7 trigrams, 3 distinct
    assert metrics.repetition_rate("one two three four") == 0.0
    s = metrics.summarize(["fine text here", "call 13812345678", "kill yourself", ""])
    assert s["safety_hit_rate"] == 0.5 and s["empty_rate"] == 0.25


def test_pair_builders():
    assert pairs.plain("Love it!!! 😍 #ad @bob tbh") == "Love it!"
    assert pairs.concise("咖啡质量太差，虽然电影很好") == "咖啡质量太差"
    assert pairs.concise("just one clause") == ""
    assert pairs.keywords("今天的Switch发布会太棒了") == ["今天", "Switch", "发布会"]
    assert pairs.keywords("Love this delivery, totally worth it") == ["Love", "delivery", "totally"]


@pytest.mark.parametrize("kw,field", [
    ({"task": "poem"}, "task"), ({"text": "  "}, "prompt"), ({"text": "x" * 2001}, "2000"),
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 257}, "max_new_tokens"),
    ({"temperature": -0.1}, "temperature"), ({"temperature": 2.5}, "temperature"),
    ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"), ({"seed": -1}, "seed"),
])
def test_bad_generation_parameters_name_the_field(kw, field):
    args = {"task": "reply", "text": "好用", "max_new_tokens": 16, "temperature": 0.7, "top_p": 0.9, "seed": 0} | kw
    p = textgen.Params(args["max_new_tokens"], args["temperature"], args["top_p"], args["seed"])
    with pytest.raises(textgen.ParamError, match=field):
        textgen.validate(args["task"], args["text"], p, ["reply", "ad_copy", "rewrite"])


def test_stream_filter_never_lets_split_pii_or_a_banned_word_out():
    f = safety.StreamFilter(("shitty",))
    got = [f.feed(x) for x in ["您好，我的电话是", "138", "0013", "8000，", "谢谢"]] + [f.close()]
    assert "".join(got) == f.sent == "您好，我的电话是[PHONE]，谢谢" and f.reasons == ["pii:phone"]
    assert got[1:3] == ["", ""]  # digits are held until their clause is complete
    f = safety.StreamFilter(("shitty",))
    got = [f.feed(x) for x in ["Fine, ", "what a sh", "itty box", ". More", " text."]] + [f.close()]
    assert "".join(got) == "Fine," and f.blocked and f.reasons == ["banned:shitty"]


@given(st.text(alphabet="ab ,。，1234567890@x.com电话", max_size=60), st.lists(st.integers(1, 8), max_size=20))
@settings(max_examples=200, deadline=None)
def test_stream_filter_sends_a_prefix_of_the_checked_whole(text, cuts):
    """However the text is cut into pieces, what is sent is the filtered whole (or a prefix of it when blocked)."""
    f, sent, i = safety.StreamFilter(()), "", 0
    for n in cuts:
        sent += f.feed(text[i:i + n])
        i += n
    sent += f.feed(text[i:]) + f.close()
    whole = safety.check(text.strip(), ())
    if f.blocked:
        assert whole.text.startswith(sent) or "stream:retracted" in f.reasons
    else:
        assert sent == whole.text


def test_greedy_decoding_penalises_a_token_it_already_produced():
    """A model that always prefers one token ("亲亲亲…") moves to its second choice once the first has been used."""
    import dataclasses

    import torch

    from generation import modeling

    model, tok, _ = modeling.load("tiny-random", ["亲 好的 发货 快递"] * 20, {"n_embd": 32}, seed=3)
    ids = textgen._encode(model, tok, [textgen.prompt("reply", "在吗")], 64)
    # two tokens the prompt does not hold (the penalty also counts the prompt's tokens)
    a, b = [t for t in range(len(tok)) if t not in ids["input_ids"][0].tolist() + [tok.eos_token_id]][:2]
    with torch.no_grad():  # every position's hidden state is the ln_f bias: logits = wte @ bias
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(torch.nn.functional.one_hot(torch.tensor(0), 32).float())
        model.transformer.wte.weight[:, 0] = 0.0
        model.transformer.wte.weight[a, 0], model.transformer.wte.weight[b, 0] = 5.0, 4.5
    model.eval()
    greedy = textgen.Params(max_new_tokens=6, temperature=0.0)
    plain = model.generate(**ids, **textgen._decoding(tok, dataclasses.replace(greedy, repetition_penalty=1.0)))
    penalised = model.generate(**ids, **textgen._decoding(tok, greedy))
    width = ids["input_ids"].shape[1]
    assert set(plain[0, width:].tolist()) == {a}
    assert b in penalised[0, width:].tolist()
