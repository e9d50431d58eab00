"""The generator on a REAL tritonserver: deploy from the registry, gRPC round trip, server-side safety filter."""

import json
import os

import numpy as np
import pytest

from generation import metrics
from ops import cli
from serving import generator_deploy as generator
from serving import repository
from serving.config import GeneratorDeployConfig
from serving.generator_deploy import deploy_generator
from serving.rollout import DeployError as GeneratorDeployError
from serving.server import TritonServer
from ugc import registry, textgen
from ugc.generator_client import GeneratorClient
from ugc.triton_client import ClientInputError

pytestmark = pytest.mark.services
PROMPTS = ["这个手机真的太好用了", "The delivery was late and the box was broken.", "耳机音质很好 love it"]


@pytest.fixture(scope="module")
def served(gen_registry, tmp_path_factory):
    """Find a word the production model generates greedily in-process, ban it, then serve the model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reg = gen_registry["registry"]
    d = registry.fetch(reg, registry.production(reg)["version"], str(tmp_path_factory.mktemp("gen_model")))
    model, tok = AutoModelForCausalLM.from_pretrained(d), AutoTokenizer.from_pretrained(d)
    greedy = textgen.Params(max_new_tokens=12, temperature=0.0)
    expected = textgen.generate(model, tok, [textgen.prompt("reply", PROMPTS[0])], greedy)[0]
    words = metrics.tokens(expected)
    assert words, f"the tiny model generated no word to ban: {expected!r}"
    banned = tmp_path_factory.mktemp("safety") / "banned.txt"
    banned.write_text(words[0] + "\n", encoding="utf-8")
    old = os.environ.get("UGC_BANNED_TERMS_FILE")
    os.environ["UGC_BANNED_TERMS_FILE"] = str(banned)  # read by the python-backend model at load
    repo = str(tmp_path_factory.mktemp("gen_repo"))
    try:
        with TritonServer(repo) as server:
            cfg = GeneratorDeployConfig(registry_uri=reg, repo_uri=repo, triton_url=server.grpc_url)
            yield {"server": server, "cfg": cfg, "deployed": deploy_generator(cfg), "term": words[0], "repo": repo}
    finally:
        if old is None:
            os.environ.pop("UGC_BANNED_TERMS_FILE", None)
        else:
            os.environ["UGC_BANNED_TERMS_FILE"] = old


def test_deploy_publishes_a_self_contained_version(served, gen_registry):
    out = served["deployed"]
    assert out["loaded"] and out["triton_version"] == 1
    assert out["registry_version"] == gen_registry["candidate"]["version"]
    vdir = os.path.join(served["repo"], "generator", "1")
    for f in ("model.py", "ugc/textgen.py", "ugc/safety.py", "ugc_generation.json", "hf/config.json", "hf/model.safetensors"):
        assert os.path.exists(os.path.join(vdir, f)), f


def test_generate_round_trip_over_grpc(served):
    with GeneratorClient(served["server"].grpc_url) as c:
        assert c.tasks() == ["reply", "ad_copy", "rewrite"]
        outs = c.generate(PROMPTS[1:], task="rewrite", max_new_tokens=10, temperature=0.9, top_p=0.95, seed=7)
        again = c.generate(PROMPTS[1:], task="rewrite", max_new_tokens=10, temperature=0.9, top_p=0.95, seed=7)
        other = c.generate(PROMPTS[1:], task="rewrite", max_new_tokens=10, temperature=0.9, top_p=0.95, seed=8)
    assert len(outs) == 2 and all(isinstance(g.text, str) and not g.blocked for g in outs)
    assert any(g.text for g in outs)
    assert [g.text for g in outs] == [g.text for g in again]  # same seed, same sample
    assert [g.text for g in outs] != [g.text for g in other]


def test_streaming_round_trip_matches_the_whole_reply(served):
    with GeneratorClient(served["server"].grpc_url) as c:
        whole = c.generate([PROMPTS[1]], task="reply", max_new_tokens=16, temperature=0.0)[0]
        pieces = list(c.stream(PROMPTS[1], task="reply", max_new_tokens=16, temperature=0.0))
    assert pieces[-1].final and not any(p.final for p in pieces[:-1]) and pieces[-1].text == ""
    assert "".join(p.text for p in pieces) == whole.text and pieces[-1].blocked == whole.blocked
    assert pieces[-1].reasons == whole.reasons


def test_streamed_text_stops_before_a_banned_word(served):
    with GeneratorClient(served["server"].grpc_url) as c:
        pieces = list(c.stream(PROMPTS[0], task="reply", max_new_tokens=12, temperature=0.0))
    assert pieces[-1].final and pieces[-1].blocked and pieces[-1].reasons == [f"banned:{served['term']}"]
    assert served["term"] not in "".join(p.text for p in pieces)


def test_server_side_safety_filter_blocks_a_planted_output(served):
    with GeneratorClient(served["server"].grpc_url) as c:
        g = c.generate([PROMPTS[0]], task="reply", max_new_tokens=12, temperature=0.0)[0]
    assert g.blocked and g.text == "" and g.reasons == [f"banned:{served['term']}"]


@pytest.mark.parametrize("kw,field", [({"task": "poem"}, "task"), ({"temperature": 3.0}, "temperature"),
                                      ({"top_p": 0.0}, "top_p"), ({"max_new_tokens": 0}, "max_new_tokens"),
                                      ({"prompts": [""]}, "prompt"), ({"prompts": "not a list"}, "list")])
def test_bad_parameters_are_refused_by_the_client(served, kw, field):
    args = {"prompts": ["好用"], "task": "reply", "max_new_tokens": 8, "temperature": 0.7, "top_p": 0.9} | kw
    with GeneratorClient(served["server"].grpc_url) as c, pytest.raises(ClientInputError, match=field):
        c.generate(**args)


def test_bad_parameters_are_refused_by_the_server_too(served):
    """A caller that skips the client's checks gets INVALID_ARG naming the field, not a crash."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    cols = {"PROMPT": (np.array([[b"hi"]], dtype=object), "BYTES"), "TASK": (np.array([[b"reply"]], dtype=object), "BYTES"),
            "MAX_NEW_TOKENS": (np.array([[8]], np.int32), "INT32"), "TEMPERATURE": (np.array([[9.0]], np.float32), "FP32"),
            "TOP_P": (np.array([[0.9]], np.float32), "FP32"), "SEED": (np.array([[0]], np.int64), "INT64")}
    inputs = []
    for name, (arr, dtype) in cols.items():
        i = grpcclient.InferInput(name, list(arr.shape), dtype)
        i.set_data_from_numpy(arr)
        inputs.append(i)
    client = grpcclient.InferenceServerClient(served["server"].grpc_url)
    got = []
    client.start_stream(callback=lambda result, error: got.append(error))  # decoupled: the stream API
    client.async_stream_infer("generator", inputs)
    client.stop_stream()  # waits for the responses
    client.close()
    assert isinstance(got[0], InferenceServerException) and "temperature" in str(got[0])
    with GeneratorClient(served["server"].grpc_url) as c:  # the model is still healthy
        assert len(c.generate(["ok"], task="reply", max_new_tokens=4, temperature=0.0)) == 1


def test_a_stream_request_with_two_prompts_is_refused(served):
    """Streaming is one prompt per request: a raw caller sending two gets INVALID_ARG, and the model stays up."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with GeneratorClient(served["server"].grpc_url) as c:
        inputs = c._inputs(["one", "two"], "reply", textgen.Params(max_new_tokens=4, temperature=0.0), stream=True)
    client = grpcclient.InferenceServerClient(served["server"].grpc_url)
    got = []
    client.start_stream(callback=lambda result, error: got.append(error))
    client.async_stream_infer("generator", inputs)
    client.stop_stream()
    client.close()
    assert isinstance(got[0], InferenceServerException) and "STREAM request holds one prompt" in str(got[0])
    with GeneratorClient(served["server"].grpc_url) as c:
        assert len(c.generate(["ok"], task="reply", max_new_tokens=4, temperature=0.0)) == 1


def test_a_broken_version_is_rolled_back(served, tmp_path, monkeypatch):
    real = generator._CODE["model.py"]
    broken = tmp_path / "model.py"
    broken.write_text("raise RuntimeError('broken model')\n")
    monkeypatch.setitem(generator._CODE, "model.py", str(broken))
    with pytest.raises(GeneratorDeployError, match="rolled back"):
        deploy_generator(GeneratorDeployConfig(**{**served["cfg"].__dict__, "ready_timeout_s": 30}))
    monkeypatch.setitem(generator._CODE, "model.py", real)
    assert repository.versions(served["repo"], "generator") == [1]
    with GeneratorClient(served["server"].grpc_url) as c:
        assert len(c.generate(["ok"], task="reply", max_new_tokens=4, temperature=0.0)) == 1


def test_config_is_valid_for_both_targets():
    import tritonclient.grpc.model_config_pb2 as mc
    from google.protobuf import text_format

    for target, kind in (("cpu", mc.ModelInstanceGroup.KIND_CPU), ("gpu", mc.ModelInstanceGroup.KIND_GPU)):
        c = text_format.Parse(generator.config(["reply"], target), mc.ModelConfig())
        assert c.backend == "python" and c.instance_group[0].kind == kind and c.max_batch_size == 8
        assert json.loads(c.parameters["tasks"].string_value) == ["reply"]
        assert c.model_transaction_policy.decoupled and any(i.name == "STREAM" and i.optional for i in c.input)
    with pytest.raises(ValueError, match="target"):
        generator.config(["reply"], "tpu")


def test_cli(served, capsys):
    url = served["server"].grpc_url
    assert cli.main(["generate", "--url", url, "--task", "rewrite", "--temperature", "0", "--max-new-tokens", "6",
                            "[plain] 好用 😍"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["prompt"] == "[plain] 好用 😍" and isinstance(line["text"], str)
    # This server bans a word the tiny model likes (fixture), so the text may come back blocked.
    assert (line["blocked"] and line["text"] == "" and line["reasons"][0].startswith("banned:")) or \
        (not line["blocked"] and line["text"])
    assert cli.main(["generate", "--url", url, "--task", "poem", "x"]) == 2
    assert "task must be one of" in capsys.readouterr().err
    assert cli.main(["generate", "--url", url, "--task", "reply", "--temperature", "0", "--max-new-tokens", "8",
                     "--stream", PROMPTS[1]]) == 0
    out = capsys.readouterr()
    streamed = json.loads(out.out)[0]
    assert streamed["text"] in out.err and not streamed["blocked"]
    assert (streamed["first_text_s"] is not None) == bool(streamed["text"])


def test_a_caller_that_stops_reading_leaves_the_server_healthy(served):
    with GeneratorClient(served["server"].grpc_url) as c:
        pieces = c.stream(PROMPTS[2], task="reply", max_new_tokens=200, temperature=0.9, seed=3)
        next(pieces)
        pieces.close()  # cancels the request on the server
        assert len(c.generate(["ok"], task="reply", max_new_tokens=4, temperature=0.0)) == 1
