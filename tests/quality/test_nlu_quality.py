"""The trained model on the held-out split (tests/nlu, never trained on) meets the quality bar:
intent accuracy ≥ 0.95, macro-F1 ≥ 0.93, account_no and phone F1 = 1.0 (digits glued to text)."""

import pytest

from scripts.eval_nlu import current_model, evaluate_test_split, failures

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model


def test_held_out_split_meets_the_thresholds(tmp_path):
    result = evaluate_test_split(current_model(), tmp_path / "results")
    print(f"held-out: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}, "
          + ", ".join(f"{k} F1 {v['f1']:.3f}" for k, v in sorted(result["entities"].items())))
    assert failures(result) == []
    assert {"account_no", "phone"} <= set(result["entities"])
