"""Conversation tests: every story in tests/test_stories.yml — customer text parsed by the trained
NLU, every predicted action — must pass (`rasa test core --e2e`)."""

import json
import os
import subprocess

import pytest
import yaml

from bot.config import ROOT
from scripts.eval_nlu import current_model

pytestmark = pytest.mark.rasa  # talks to a running Rasa server or runs Rasa with the trained model

STORIES = ROOT / "tests" / "test_stories.yml"


def test_every_conversation_story_passes(tmp_path):
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rasa"), "test", "core", "--e2e", "--model", str(current_model()),
         "--stories", str(STORIES), "--out", str(tmp_path)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert failed.startswith("# None of the test stories failed"), failed
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]
    report = json.loads((tmp_path / "story_report.json").read_text())["conversation_accuracy"]
    assert report["total"] == len(stories) and report["correct"] == len(stories)
