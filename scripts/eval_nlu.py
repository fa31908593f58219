"""NLU quality: validate the data, evaluate the trained model on the two held-out splits (tests/nlu/plain:
everyday colloquial text; tests/nlu/hard: dialect, typos, traditional characters, fillers, run-ons,
fragments, out-of-scope look-alikes), optionally run 5-fold cross-validation on the training data;
write reports/nlu.md.

    .venv/bin/python scripts/eval_nlu.py [--cross-validation]      (make eval-nlu)

The held-out split is never trained on (config and `rasa train` read data/ only). CI runs the
held-out evaluation through tests/quality/test_nlu_quality.py and fails below the thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
RASA = str(ROOT / ".venv" / "bin" / "rasa")
# the goals the report marks met or missed (issue 13: plain ≥ 0.975, hard ≥ 0.95, CV ≥ 0.90)
THRESHOLDS = {"accuracy": 0.975, "macro_f1": 0.95, "entity_f1": {"account_no": 1.0, "phone": 1.0}}
# what CI refuses to go below (tests/quality/test_nlu_quality.py): the level reached when these splits
# were written, so a change that makes understanding worse fails even while a goal is still missed
CI_FLOORS = {"accuracy": 0.97, "macro_f1": 0.95, "entity_f1": {"account_no": 1.0, "phone": 1.0}}
# the hard split: intent accuracy only (its messages are not annotated with entities)
HARD_THRESHOLDS = {"accuracy": 0.95}
CV_THRESHOLD = 0.90
PLAIN, HARD = "tests/nlu/plain", "tests/nlu/hard"
ENV = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")


def _run(args: List[str]) -> None:
    subprocess.run(args, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def current_model() -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from train import train  # noqa: E402

    return train()


def _load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def summarize(out: Path) -> Dict[str, Any]:
    """Numbers from a `rasa test nlu` results directory."""
    intents = _load(out / "intent_report.json")
    entities: Dict[str, Dict[str, float]] = {}
    for report in sorted(out.glob("*Extractor_report.json")):
        extractor = report.name[: -len("_report.json")]
        for name, row in _load(report).items():
            if isinstance(row, dict) and "avg" not in name and row.get("support"):
                best = entities.get(name)
                if best is None or row["f1-score"] > best["f1"]:
                    entities[name] = {"f1": row["f1-score"], "precision": row["precision"], "recall": row["recall"],
                                      "support": row["support"], "extractor": extractor}
    errors = _load(out / "intent_errors.json") if (out / "intent_errors.json").exists() else []
    selection = out / "response_selection_report.json"
    return {
        "accuracy": intents["accuracy"],
        "macro_f1": intents["macro avg"]["f1-score"],
        "per_intent": {k: v for k, v in intents.items() if isinstance(v, dict) and "avg" not in k},
        "errors": errors,
        "entities": entities,
        "response_selection": _load(selection).get("accuracy") if selection.exists() else None,
    }


def evaluate_test_split(model: Path, out: Path, split: str = PLAIN) -> Dict[str, Any]:
    """Evaluate ``model`` on one held-out split (a directory of Rasa NLU files)."""
    started = time.monotonic()
    _run([RASA, "test", "nlu", "--model", str(model), "--nlu", split, "--out", str(out)])
    result = summarize(out)
    result["seconds"] = time.monotonic() - started
    return result


def hard_failures(result: Dict[str, Any]) -> List[str]:
    """What of the hard split's bar is not met (intent accuracy)."""
    if result["accuracy"] < HARD_THRESHOLDS["accuracy"]:
        return [f"hard split: intent accuracy {result['accuracy']:.4f} < {HARD_THRESHOLDS['accuracy']}"]
    return []


def failures(result: Dict[str, Any], bar: Dict[str, Any] = THRESHOLDS) -> List[str]:
    """What of the plain split's bar (the goals, or :data:`CI_FLOORS`) is not met (intent accuracy,
    macro-F1, account/phone F1)."""
    problems = []
    if result["accuracy"] < bar["accuracy"]:
        problems.append(f"intent accuracy {result['accuracy']:.4f} < {bar['accuracy']}")
    if result["macro_f1"] < bar["macro_f1"]:
        problems.append(f"intent macro-F1 {result['macro_f1']:.4f} < {bar['macro_f1']}")
    for entity, minimum in bar["entity_f1"].items():
        f1 = result["entities"].get(entity, {}).get("f1", 0.0)
        if f1 < minimum:
            problems.append(f"{entity} F1 {f1:.4f} < {minimum}")
    return problems


def intents_config(out: Path) -> Path:
    """config.yml without the ResponseSelector: cross-validation measures intents, which the
    selector (FAQ sub-keys, a TensorFlow model trained for minutes per fold) does not change."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "ResponseSelector"]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config-intents.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def cross_validate(out: Path, folds: int = 5) -> Dict[str, Any]:
    """5-fold cross-validation of the intent classification on the training data (data/nlu)."""
    started = time.monotonic()
    config = intents_config(out.parent / "cv-config")
    _run([RASA, "test", "nlu", "--nlu", "data/nlu", "--config", str(config), "--cross-validation", "--folds",
          str(folds), "--out", str(out)])
    result = summarize(out)
    result["seconds"] = time.monotonic() - started
    return result


def _confusions(errors: List[Dict[str, Any]], limit: int = 10) -> List[str]:
    pairs: Dict[tuple, List[str]] = {}
    for e in errors:
        key = (e["intent"], e["intent_prediction"]["name"])
        pairs.setdefault(key, []).append(e["text"])
    ranked = sorted(pairs.items(), key=lambda kv: -len(kv[1]))[:limit]
    return [f"| {gold} → {pred} | {len(texts)} | {' / '.join(texts[:3])} |" for (gold, pred), texts in ranked]


def render(test: Dict[str, Any], hard: Dict[str, Any], cv: Dict[str, Any] | None, train_seconds: str | None) -> str:
    lines = [
        "# NLU quality report",
        "",
        "Generated by `make eval-nlu` (scripts/eval_nlu.py). Held-out splits (written independently, never",
        f"trained on): plain colloquial text `{PLAIN}/`, hard text `{HARD}/`. Training data: `data/nlu/`.",
        "",
        "| set | intent accuracy | goal |",
        "|---|---|---|",
        f"| plain held-out | {test['accuracy']:.4f} | ≥ {THRESHOLDS['accuracy']} |",
        f"| hard held-out | {hard['accuracy']:.4f} | ≥ {HARD_THRESHOLDS['accuracy']} |",
        f"| 5-fold cross-validation (training data) | {cv['accuracy']:.4f} | ≥ {CV_THRESHOLD} |" if cv else
        "| 5-fold cross-validation | not run | |",
        "",
        "### Ten worst confusions (plain + hard held-out)",
        "",
        "| gold → predicted | count | examples |",
        "|---|---|---|",
        *(_confusions(test["errors"] + hard["errors"]) or ["| none | | |"]),
        "",
        "## Plain held-out split",
        "",
        "| metric | value | threshold |",
        "|---|---|---|",
        f"| intent accuracy | {test['accuracy']:.4f} | ≥ {THRESHOLDS['accuracy']} |",
        f"| intent macro-F1 | {test['macro_f1']:.4f} | ≥ {THRESHOLDS['macro_f1']} |",
    ]
    for entity in sorted(test["entities"]):
        row = test["entities"][entity]
        limit = THRESHOLDS["entity_f1"].get(entity)
        lines.append(f"| entity `{entity}` F1 ({row['extractor']}) | {row['f1']:.4f} | {'= 1.0' if limit else ''} |")
    if test.get("response_selection") is not None:
        lines.append(f"| response selection accuracy (FAQ sub-keys) | {test['response_selection']:.4f} | |")
    lines += ["", "### Per-intent F1 (held-out)", "", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, row in sorted(test["per_intent"].items(), key=lambda kv: kv[1]["f1-score"]):
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1-score']:.3f} | {row['support']} |")
    lines += ["", "### Worst confusions (plain)", "", "| gold → predicted | count | examples |", "|---|---|---|"]
    lines += _confusions(test["errors"]) or ["| none | | |"]
    lines += ["", "## Hard held-out split", "", f"intent accuracy {hard['accuracy']:.4f}, macro-F1 {hard['macro_f1']:.4f}.",
              "", "| intent | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, row in sorted(hard["per_intent"].items(), key=lambda kv: kv[1]["f1-score"]):
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1-score']:.3f} | {row['support']} |")
    lines += ["", "### Worst confusions (hard)", "", "| gold → predicted | count | examples |", "|---|---|---|"]
    lines += _confusions(hard["errors"]) or ["| none | | |"]
    if cv is not None:
        lines += [
            "", "## 5-fold cross-validation on the training data", "",
            f"intent accuracy {cv['accuracy']:.4f}, macro-F1 {cv['macro_f1']:.4f} ({cv['seconds']:.0f} s).", "",
            "| gold → predicted | count | examples |", "|---|---|---|",
        ]
        lines += _confusions(cv["errors"]) or ["| none | | |"]
    lines += ["", "## Pipeline choices and their costs", "", Path(ROOT / "reports" / "nlu-choices.md").read_text(
        encoding="utf-8").strip() if (ROOT / "reports" / "nlu-choices.md").exists() else ""]
    if train_seconds:
        lines += ["", f"Last full training (NLU + policies) on this machine: {train_seconds} s."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="NLU evaluation")
    parser.add_argument("--no-validate", action="store_true", help="skip `rasa data validate`")
    parser.add_argument("--cross-validation", action="store_true", help="also run 5-fold cross-validation (slow)")
    args = parser.parse_args()
    if not args.no_validate:
        _run([RASA, "data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml"])
        print("data validate: ok")
    model = current_model()
    tmp = ROOT / "reports" / "tmp"
    test = evaluate_test_split(model, tmp / "test")
    print(f"plain held-out: accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f}")
    hard = evaluate_test_split(model, tmp / "hard", HARD)
    print(f"hard held-out: accuracy {hard['accuracy']:.4f}, macro-F1 {hard['macro_f1']:.4f}")
    cv = cross_validate(tmp / "cv") if args.cross_validation else None
    if cv:
        print(f"5-fold CV: accuracy {cv['accuracy']:.4f}, macro-F1 {cv['macro_f1']:.4f}")
    seconds_file = ROOT / "models" / ".train-seconds"
    report = ROOT / "reports" / "nlu.md"
    report.write_text(render(test, hard, cv, seconds_file.read_text().strip() if seconds_file.exists() else None),
                      encoding="utf-8")
    print(f"wrote {report.relative_to(ROOT)}")
    problems = failures(test) + hard_failures(hard)
    if cv and cv["accuracy"] < CV_THRESHOLD:
        problems.append(f"5-fold CV: intent accuracy {cv['accuracy']:.4f} < {CV_THRESHOLD}")
    for p in problems:
        print("BELOW THRESHOLD:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
