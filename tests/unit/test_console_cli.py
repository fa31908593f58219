"""`bot staff …` on the command line: the operator's way in when no administrator can sign in."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from bot.config import ROOT
from bot.domain import audit, crews, staff
from bot.domain.demo import DEMO_CREWS, seed_crews

BOT = str(ROOT / ".venv" / "bin" / "bot")


def run(db, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db.url}
    return subprocess.run([BOT, "staff", *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def test_operators_add_disable_enable_and_reset_staff(db):
    added = run(db, "add", "sup1", "--role", "supervisor", "--password-stdin", stdin="first-password-123\n")
    assert added.returncode == 0, added.stderr
    assert run(db, "disable", "sup1").returncode == 0
    with db.session() as s:
        with pytest.raises(staff.StaffError):
            staff.authenticate(s, "sup1", "first-password-123")
    assert run(db, "enable", "sup1").returncode == 0
    reset = run(db, "reset-password", "sup1")
    assert reset.returncode == 0
    password = re.search(r"new password for sup1: (\S+)", reset.stdout).group(1)
    with db.session() as s:
        assert staff.authenticate(s, "sup1", password).username == "sup1"
        actions = [e.action for e in reversed(audit.entries(s, actor="cli:staff"))]
        assert actions == ["staff.add", "staff.disable", "staff.enable", "staff.reset_password"]
    unknown = run(db, "disable", "nobody")
    assert unknown.returncode == 1 and "no staff user" in unknown.stdout


def test_the_demo_has_a_dispatcher_and_crews(db, tmp_path):
    env = {**os.environ, "DATABASE_URL": db.url, "POWERBOT_VAR_DIR": str(tmp_path)}
    demo = subprocess.run([BOT, "staff", "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    with db.session() as s:
        assert staff.get(s, "demo_dispatcher").role == "dispatcher"
        assert len(seed_crews(s)) == len(DEMO_CREWS) and seed_crews(s) == []  # idempotent
        assert {c.township for c in crews.all_crews(s)} >= {"城关镇", "银坊镇"}
