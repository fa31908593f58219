"""Loading the model must not change the server's log level (skops' import sets the root logger to
WARNING through numpy.distutils; operators would lose every INFO line after start-up)."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.config import ROOT

PROBE = """
import logging
logging.getLogger().setLevel(logging.INFO)
import bot.nlu.components  # what Rasa imports before it loads the pipeline's components
import skops.io  # what LogisticRegressionClassifier.load imports
print(logging.getLogger().getEffectiveLevel())
"""


def test_the_root_log_level_survives_loading_the_intent_classifier():
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "20"
