"""Each process installs what it needs once, when it starts, and refuses to start misconfigured."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from bot.config import ROOT

PROBE = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
from bot import startup
startup.start_action_server()
startup.start_action_server()
from bot.domain.rules import get_rules
get_rules(); get_rules.cache_clear(); get_rules()  # later reads of the rules stay quiet
logging.getLogger("probe").info("phone 13912345678")
print("started")
"""


def _run(env_extra, code=PROBE):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_missing_holiday_calendar_is_logged_once_at_start_up_and_phones_are_masked(tmp_path):
    rules = yaml.safe_load((ROOT / "service_rules.yml").read_text(encoding="utf-8"))
    rules["calendar"]["holidays"] = []
    rules["calendar"]["workdays"] = []
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    done = _run({"SERVICE_RULES_FILE": str(path), "ACTION_SERVER_TOKEN": "made-up-token"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(re.findall("lists no public holidays", done.stdout)) >= 1
    assert len(re.findall(r"lists no public holidays for (\d+)", done.stdout)) == len(
        set(re.findall(r"lists no public holidays for (\d+)", done.stdout)))  # each missing year once
    assert "139****5678" in done.stdout and "13912345678" not in done.stdout


def test_a_server_without_the_action_server_token_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    code = "from bot import startup\nstartup.start_rasa_server()"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "ConfigError: ACTION_SERVER_TOKEN: required" in done.stderr


def test_a_bad_setting_stops_the_bot_command_with_one_line_and_exit_status_2():
    done = _run({"CONSOLE_COOKIE_SECURE": "ture"}, "import sys\nfrom bot.cli import main\nsys.exit(main(['staff', 'list']))")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: CONSOLE_COOKIE_SECURE: expected true or false (also 1/0, yes/no, on/off), got 'ture'"]
