"""`bot run` (what `make run` starts) never leaves a server behind: stopped by a process manager or a
closed terminal it stops both servers, and killed outright its servers get SIGTERM from the kernel."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import List

import pytest

from bot.config import ROOT
from tests.eventually import eventually
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


def _start(tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "POWERBOT_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    env.pop("ACTION_SERVER_TOKEN", None)
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([BOT, "run", "--port", str(free_port()), "--actions-port", str(free_port())],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    eventually(lambda: b"ready in" in (tmp_path / "run.log").read_bytes() or proc.poll() is not None, 300,
               what="bot run to be ready")
    assert proc.poll() is None, (tmp_path / "run.log").read_text(errors="replace")[-2000:]
    return proc


def _listening_addresses(port: int) -> List[str]:
    """IPv4/IPv6 addresses with a socket listening on ``port`` (from /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(address)
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_bot_run_stops_its_servers_and_worker(tmp_path, signum):
    proc = _start(tmp_path)
    servers = _children(proc.pid)
    try:
        assert len(servers) == 3  # the action server, the Rasa server and the worker
        proc.send_signal(signum)
        proc.wait(timeout=30)
        eventually(lambda: not any(_alive(pid) for pid in servers), 30, what="its servers and worker to exit")
    finally:  # a failing run must not leave servers behind for the rest of the suite
        for pid in [proc.pid, *servers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_bot_run_binds_the_action_server_to_loopback_and_it_wants_a_token(tmp_path):
    """Checked as soon as the action server listens (`bot run` starts it before the Rasa server)."""
    env = {**os.environ, "POWERBOT_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    env.pop("ACTION_SERVER_TOKEN", None)
    actions_port = free_port()
    proc = subprocess.Popen([BOT, "run", "--port", str(free_port()), "--actions-port", str(actions_port)],
                            cwd=ROOT, env=env, stdout=open(tmp_path / "run.log", "wb"), stderr=subprocess.STDOUT)
    try:
        eventually(lambda: _listening_addresses(actions_port) or proc.poll() is not None, 300,
                   what="the action server to listen")
        assert _listening_addresses(actions_port) == ["0100007F"]  # 127.0.0.1 only, not 0.0.0.0
        request = urllib.request.Request(f"http://127.0.0.1:{actions_port}/webhook", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert "Registered function" not in output and "DeprecationWarning" not in output  # in var/log/
    finally:
        servers = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        for pid in servers:
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
        actions = next(pid for pid in servers if "bot.action_server" in _cmdline(pid))
        rasa = next(pid for pid in servers if pid != actions)
        os.kill(actions, signal.SIGKILL)

        def restarted() -> bool:
            return any("bot.action_server" in _cmdline(pid) and pid != actions and _alive(pid)
                       for pid in _children(proc.pid))

        eventually(restarted, 60, what="a new action server")
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
