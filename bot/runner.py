"""``bot run``: the whole bot on embedded defaults, for a person trying it (``make run``).

Prepares the database (migrate, demo data, demo staff), starts the action server and the Rasa
server with our channels, waits until both answer, prints where to go, and stops both cleanly on
Ctrl-C, SIGTERM or SIGHUP; if it is killed outright, the servers get SIGTERM from the kernel. A server
that dies while running is started again after a back-off (1 s, doubling to 30 s; reset once it has
stayed up a minute), and says so on stderr. Production runs each part under its platform's process
manager instead (see README and deploy/).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

from bot.config import ROOT, get_settings
from bot.db import migrate

VENV_BIN = ROOT / ".venv" / "bin"


def demo_environment(rasa_port: int, actions_port: int) -> Dict[str, str]:
    """Environment for the embedded demo: what `make run` turns on unless the caller set it."""
    env = dict(os.environ)
    defaults = {
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",  # library deprecation noise is not for the person trying the bot
        "SIMULATOR_ENABLED": "true",
        "REST_CHANNEL_ENABLED": "true",
        "CONSOLE_COOKIE_SECURE": "false",  # plain http on localhost
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{rasa_port}",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _die_with_parent() -> None:
    """In each server process, before it starts: ask Linux for SIGTERM when ``bot run`` dies, however
    it dies (even SIGKILL), so no server is left holding the ports."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: SIGTERM and SIGHUP are still handled by run()


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _stop(procs: List[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


#: Back-off before restarting a server that died: doubling from the first to the last (seconds).
RESTART_BACKOFF_S = (1.0, 30.0)
#: A server that stayed up this long has its back-off reset.
RESTART_STABLE_S = 60.0


class Child:
    """One supervised server process: started again after a back-off when it dies."""

    def __init__(self, name: str, argv: List[str], env: Dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.backoff_s = RESTART_BACKOFF_S[0]
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> subprocess.Popen:
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        self.restart_at = None
        return self.proc

    def watch(self, now: float) -> None:
        """Called periodically: schedule a restart when the process died, and do it when due."""
        if self.proc is None:
            return
        if self.restart_at is None and self.proc.poll() is not None:
            if now - self.started_at >= RESTART_STABLE_S:
                self.backoff_s = RESTART_BACKOFF_S[0]
            print(f"{self.name} exited with code {self.proc.returncode}; restarting in {self.backoff_s:.0f} s",
                  file=sys.stderr, flush=True)
            self.restart_at = now + self.backoff_s
            self.backoff_s = min(self.backoff_s * 2, RESTART_BACKOFF_S[1])
        elif self.restart_at is not None and now >= self.restart_at:
            self.restarts += 1
            self.start()
            print(f"{self.name} restarted (pid {self.proc.pid}, restart {self.restarts})", file=sys.stderr, flush=True)


def current_model() -> Path | None:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def prepare_demo() -> None:
    """Schema, demo data and demo staff (idempotent)."""
    from bot.cli import main as bot_main

    migrate()
    bot_main(["seed-demo", "--if-empty"])
    bot_main(["staff", "demo"])


def run(rasa_port: int = 5005, actions_port: int = 5055) -> int:
    model = current_model()
    if model is None:
        print("no trained model in models/: run `make train` (or `make run`, which trains)", file=sys.stderr)
        return 1
    env = demo_environment(rasa_port, actions_port)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    get_settings.cache_clear()
    prepare_demo()

    procs: List[subprocess.Popen] = []
    started = time.monotonic()
    # a terminal closing or a process manager stopping us ends the servers too, like Ctrl-C
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        actions = Child("action server", [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions",
                                          "--port", str(actions_port)], env)
        procs.append(actions.start())
        server = Child("Rasa server", [str(VENV_BIN / "rasa"), "run", "--model", str(model), "--credentials",
                                       "credentials.yml", "--endpoints", "endpoints.yml", "--port", str(rasa_port),
                                       "--interface", "127.0.0.1"], env)
        procs.append(server.start())
        ok = _wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0], 300) and _wait_http(
            f"http://127.0.0.1:{rasa_port}/ready", procs[1], 600  # a busy machine loads the model slowly
        )
        if not ok:
            print("the bot did not start; see the messages above", file=sys.stderr)
            _stop(procs)
            return 1
        base = f"http://127.0.0.1:{rasa_port}"
        print(
            "\n"
            f"ready in {time.monotonic() - started:.0f} s\n"
            f"  WeChat simulator:  {base}/simulator/\n"
            f"  agent console:     {base}/console/   (demo staff: {get_settings().var_dir / 'demo-staff.txt'})\n"
            f"  REST channel:      curl -s {base}/webhooks/rest/webhook -d '{{\"sender\":\"me\",\"message\":\"你好\"}}'\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        children = [actions, server]
        while True:  # a server that dies is started again (with back-off), not the end of the demo
            time.sleep(0.5)
            for child in children:
                child.watch(time.monotonic())
            procs[:] = [c.proc for c in children if c.proc is not None]
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        _stop(procs)
