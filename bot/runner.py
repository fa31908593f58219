"""``bot run``: the whole bot on embedded defaults, for a person trying it (``make run``).

Prepares the database (migrate, demo data, demo staff), starts the action server and the Rasa
server with our channels, waits until both answer, prints where to go, and stops both cleanly on
Ctrl-C, SIGTERM or SIGHUP; if it is killed outright, the servers get SIGTERM from the kernel. Production runs the two servers under a process manager instead (see README).
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
        actions = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            cwd=ROOT, env=env, preexec_fn=_die_with_parent,
        )
        procs.append(actions)
        server = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "--model", str(model), "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml", "--port", str(rasa_port), "--interface", "127.0.0.1"],
            cwd=ROOT, env=env, preexec_fn=_die_with_parent,
        )
        procs.append(server)
        # the background worker: notices to customers, reminders, the escalation scan (bot/jobs.py)
        procs.append(subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env,
                                      preexec_fn=_die_with_parent))
        ok = _wait_http(f"http://127.0.0.1:{actions_port}/health", actions, 60) and _wait_http(
            f"http://127.0.0.1:{rasa_port}/ready", server, 120
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
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a server stopped unexpectedly; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        _stop(procs)
