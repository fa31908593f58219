"""`bot run` is the demo: its conveniences (simulator, REST channel, non-secure cookie) never face
real WeChat or Twilio secrets, its servers share a fresh secret, and what it writes about customers
is readable by its owner only (security faults 1 and 10)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.config import ROOT, ConfigError, Settings, load_settings
from bot.db import dispose_engines, get_engine
from bot.domain.demo import generate
from bot.jobs import make_huey
from bot.runner import demo_environment


def test_the_demo_turns_on_its_conveniences_and_generates_an_action_server_token():
    env = demo_environment(5005, 5055, base={})
    settings = load_settings(env)
    assert settings.simulator_enabled and settings.rest_channel_enabled and not settings.console_cookie_secure
    assert len(env["ACTION_SERVER_TOKEN"]) >= 32
    assert demo_environment(5005, 5055, base={})["ACTION_SERVER_TOKEN"] != env["ACTION_SERVER_TOKEN"]


def test_a_token_the_operator_set_is_kept():
    assert demo_environment(5005, 5055, base={"ACTION_SERVER_TOKEN": "set-by-me"})["ACTION_SERVER_TOKEN"] == "set-by-me"


@pytest.mark.parametrize("secret", ["WECHAT_TOKEN", "WECHAT_SECRET", "WECHAT_AES_KEY", "TWILIO_ACCOUNT_SID",
                                    "TWILIO_AUTH_TOKEN"])
def test_with_real_secrets_the_simulator_and_rest_channel_stay_off_and_the_cookie_secure(secret):
    value = "FakeEncodingAesKeyForTests00000000000000000" if secret == "WECHAT_AES_KEY" else "a-real-looking-secret"
    settings = load_settings(demo_environment(5005, 5055, base={secret: value}))
    assert not settings.simulator_enabled and not settings.rest_channel_enabled
    assert settings.console_cookie_secure


@pytest.mark.parametrize("name, value", [("SIMULATOR_ENABLED", "true"), ("REST_CHANNEL_ENABLED", "on"),
                                         ("CONSOLE_COOKIE_SECURE", "false")])
def test_turning_a_convenience_on_beside_real_secrets_is_refused(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: refused with real secrets set \\(WECHAT_SECRET\\)"):
        demo_environment(5005, 5055, base={"WECHAT_SECRET": "a-real-looking-secret", name: value})


def test_bot_run_refuses_with_one_line_and_exit_status_2():
    env = {**os.environ, "TWILIO_AUTH_TOKEN": "a-real-looking-secret", "REST_CHANNEL_ENABLED": "yes"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--port", "1", "--actions-port", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: REST_CHANNEL_ENABLED: refused with real secrets set (TWILIO_AUTH_TOKEN): the demo's "
        "simulator, REST channel and non-secure cookie must not face a real WeChat account or Twilio number; "
        "unset REST_CHANNEL_ENABLED"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)  # the usual umask, under which files used to be world-readable
    yield
    os.umask(previous)


def test_demo_csv_files_with_names_and_phones_are_readable_by_the_owner_only(tmp_path, open_umask):
    out = tmp_path / "var" / "demo"
    (out).mkdir(parents=True)
    (out / "accounts.csv").write_text("old")
    os.chmod(out / "accounts.csv", 0o644)  # written by an older version
    generate(out, n_accounts=5)
    for name in ("accounts.csv", "bills.csv", "planned_outages.csv"):
        assert _mode(out / name) == 0o600, name
    fresh = tmp_path / "fresh" / "demo"
    generate(fresh, n_accounts=5)
    assert _mode(fresh) == 0o700


def test_a_new_sqlite_database_file_is_readable_by_the_owner_only(tmp_path, open_umask):
    path = tmp_path / f"var-{uuid.uuid4().hex[:6]}" / "powerbot.db"
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.commit()
    try:
        assert _mode(path) == 0o600
        assert _mode(path.parent) == 0o700
        wal = Path(f"{path}-wal")
        assert not wal.exists() or _mode(wal) == 0o600
    finally:
        dispose_engines()


def test_the_embedded_job_queue_file_is_readable_by_the_owner_only(tmp_path, open_umask):
    queue = make_huey(Settings(var_dir=tmp_path / "var"))
    assert queue.pending_count() == 0  # the queue works on the file
    assert _mode(tmp_path / "var" / "jobs.db") == 0o600
