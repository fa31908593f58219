"""Start the real bot (Rasa server + action server, as `bot run` does; the background worker on demand)
for integration tests.

Processes run from the repository with the trained model in models/, against a test database seeded
with known records, and with every external platform pointed at a local fake (tests/fakes/). Nothing
of our own is patched: a test talks HTTP to the bot like WeChat, Twilio or a browser would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from bot.config import ROOT
from tests.eventually import eventually

VENV_BIN = ROOT / ".venv" / "bin"
TEST_WECHAT_TOKEN = "test-wechat-token"
#: The shared secret between the test Rasa servers and action servers (made up).
TEST_ACTION_SERVER_TOKEN = "test-action-server-token"


def action_server_command(port: int) -> List[str]:
    """The product's action server (``python -m bot.action_server``) on ``port`` of 127.0.0.1."""
    return [str(VENV_BIN / "python"), "-m", "bot.action_server", "--port", str(port), "--interface", "127.0.0.1"]


def worker_command() -> List[str]:
    """The product's background worker (``bot worker``: the Huey consumer that sends notices)."""
    return [str(VENV_BIN / "python"), "-m", "bot.cli", "worker"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def current_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("no trained model: run `make train` (make test does)")
    return models[-1]


def _wait(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Until ``url`` answers 200; fails with the end of ``log`` when the process exits or time runs out."""

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited while starting; log:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        eventually(ready, timeout, interval=0.2, what=url)
    except AssertionError:
        raise RuntimeError(f"{url} not ready after {timeout} s; log:\n{log.read_text()[-4000:]}") from None


@dataclass
class BotProcesses:
    """A running bot: ``url`` is the Rasa server (channels, console, simulator)."""

    url: str
    actions_url: str
    env: Dict[str, str]
    logs: List[Path]
    procs: List[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs)


def start_bot(
    workdir: Path,
    database_url: str,
    env: Optional[Dict[str, str]] = None,
    action_endpoint_url: Optional[str] = None,
    ready_timeout: float = 300,
) -> BotProcesses:
    """Start an action server (unless ``action_endpoint_url`` points elsewhere) and a Rasa server."""
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "POWERBOT_VAR_DIR": str(workdir / "var"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "SIMULATOR_ENABLED": "true",
        "REST_CHANNEL_ENABLED": "true",
        "CONSOLE_COOKIE_SECURE": "false",
        "CONSOLE_HOURS": "00:00-00:00",
        "WECHAT_TOKEN": TEST_WECHAT_TOKEN,
        "ACTION_SERVER_TOKEN": TEST_ACTION_SERVER_TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{rasa_port}",
        **(env or {}),
    }
    procs: List[subprocess.Popen] = []
    logs: List[Path] = []
    actions_url = action_endpoint_url
    try:
        if actions_url is None:
            actions_port = free_port()
            actions_url = f"http://127.0.0.1:{actions_port}/webhook"
            log = workdir / "actions.log"
            logs.append(log)
            proc = subprocess.Popen(
                action_server_command(actions_port),
                cwd=ROOT, env={**full_env, "ACTION_ENDPOINT_URL": actions_url},
                stdout=open(log, "wb"), stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            _wait(f"http://127.0.0.1:{actions_port}/health", proc, 60, log)
        full_env["ACTION_ENDPOINT_URL"] = actions_url
        log = workdir / "rasa.log"
        logs.append(log)
        proc = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "--model", str(current_model()), "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml", "--port", str(rasa_port), "--interface", "127.0.0.1"],
            cwd=ROOT, env=full_env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        _wait(f"http://127.0.0.1:{rasa_port}/ready", proc, ready_timeout, log)
    except BaseException:
        BotProcesses("", "", full_env, logs, procs).stop()
        raise
    return BotProcesses(f"http://127.0.0.1:{rasa_port}", actions_url, full_env, logs, procs)


@dataclass
class WorkerProcess:
    """A running ``bot worker``."""

    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_worker(bot: BotProcesses, workdir: Path, env: Optional[Dict[str, str]] = None,
                 ready_timeout: float = 60) -> WorkerProcess:
    """Start ``bot worker`` beside a running bot, as ``bot run`` does: the same environment — database,
    ``POWERBOT_VAR_DIR`` (where the servers enqueue its tasks in the Huey file), the fakes — and wait until
    its consumer runs."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "worker.log"
    proc = subprocess.Popen(worker_command(), cwd=ROOT, env={**bot.env, "LOG_LEVEL": "INFO", **(env or {})},
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    worker = WorkerProcess(proc, log)

    def started() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"bot worker exited while starting; log:\n{worker.log_text()[-4000:]}")
        return "consumer started" in worker.log_text()

    try:
        eventually(started, ready_timeout, interval=0.2, what="bot worker")
    except BaseException:
        worker.stop()
        raise
    return worker
