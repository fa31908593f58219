"""`bot run` (what `make run` starts) never leaves a server behind: stopped by a process manager or a
closed terminal it stops both servers, and killed outright its servers get SIGTERM from the kernel."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import pytest

from bot.config import ROOT
from tests.harness import free_port

pytestmark = pytest.mark.rasa

BOT = str(ROOT / ".venv" / "bin" / "bot")


def _children(pid: int) -> List[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _start(tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "POWERBOT_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([BOT, "run", "--port", str(free_port()), "--actions-port", str(free_port())],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_for(lambda: b"ready in" in (tmp_path / "run.log").read_bytes() or proc.poll() is not None, 600,
              "bot run to be ready")
    assert proc.poll() is None, (tmp_path / "run.log").read_text(errors="replace")[-2000:]
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_bot_run_stops_both_servers(tmp_path, signum):
    proc = _start(tmp_path)
    servers = _children(proc.pid)
    try:
        assert len(servers) == 2
        proc.send_signal(signum)
        proc.wait(timeout=30)
        _wait_for(lambda: not any(_alive(pid) for pid in servers), 30, "both servers to exit")
    finally:  # a failing run must not leave servers behind for the rest of the suite
        for pid in [proc.pid, *servers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_server_that_dies_is_restarted_and_the_others_keep_running(tmp_path):
    proc = _start(tmp_path)
    servers = _children(proc.pid)
    try:
        actions = next(pid for pid in servers if " actions " in _cmdline(pid))
        rasa = next(pid for pid in servers if pid != actions)
        os.kill(actions, signal.SIGKILL)

        def restarted() -> bool:
            return any(" actions " in _cmdline(pid) and pid != actions and _alive(pid) for pid in _children(proc.pid))

        _wait_for(restarted, 60, "a new action server")
        log = (tmp_path / "run.log").read_text(errors="replace")
        assert "action server exited with code -9; restarting in 1 s" in log
        assert proc.poll() is None and _alive(rasa), "bot run and the Rasa server keep running"
    finally:
        servers = _children(proc.pid) + servers
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        for pid in [proc.pid, *servers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
