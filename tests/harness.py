"""Start the real bot (Rasa server + action server, as `bot run` does) for integration tests.

Processes run from the repository with the trained model in models/, against a test database seeded
with known records, and with every external platform pointed at a local fake (tests/fakes/). Nothing
of our own is patched: a test talks HTTP to the bot like WeChat, Twilio or a browser would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from bot.config import ROOT

VENV_BIN = ROOT / ".venv" / "bin"
TEST_WECHAT_TOKEN = "test-wechat-token"


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited while starting; log:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s; log:\n{log.read_text()[-4000:]}")


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
                [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
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
        _wait(f"http://127.0.0.1:{rasa_port}/ready", proc, 300, log)  # 2 shared cores: slow under load
    except BaseException:
        BotProcesses("", "", full_env, logs, procs).stop()
        raise
    return BotProcesses(f"http://127.0.0.1:{rasa_port}", actions_url, full_env, logs, procs)
