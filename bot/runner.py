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
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Mapping

from bot.config import ROOT, ConfigError, get_settings, parse_bool
from bot.db import migrate

VENV_BIN = ROOT / ".venv" / "bin"

#: Variables that mean a real WeChat account or Twilio number is configured.
REAL_SECRETS = ("WECHAT_TOKEN", "WECHAT_SECRET", "WECHAT_AES_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")

#: The demo's conveniences (value in the demo, safe value). With real secrets they stay safe: the
#: simulator and the REST channel let anyone talk as any sender, and a non-secure cookie leaks sessions.
DEMO_CONVENIENCES = {
    "SIMULATOR_ENABLED": ("true", "false"),
    "REST_CHANNEL_ENABLED": ("true", "false"),
    "CONSOLE_COOKIE_SECURE": ("false", "true"),  # plain http on localhost
}


def demo_environment(rasa_port: int, actions_port: int, base: Mapping[str, str] | None = None) -> Dict[str, str]:
    """Environment for the embedded demo: what `make run` turns on unless the caller set it
    (``base``: the caller's environment, ``os.environ`` by default).

    A fresh ``ACTION_SERVER_TOKEN`` is generated unless one is set. With real WeChat/Twilio secrets
    in ``base`` the demo's conveniences stay off; raises :class:`ConfigError` when the caller
    turned one on explicitly alongside real secrets."""
    env = dict(os.environ if base is None else base)
    real = [name for name in REAL_SECRETS if env.get(name)]
    unsafe = [name for name, (_demo, safe) in DEMO_CONVENIENCES.items()
              if real and env.get(name) and parse_bool(name, env[name]) != parse_bool(name, safe)]
    if unsafe:
        raise ConfigError(
            f"{unsafe[0]}: refused with real secrets set ({', '.join(real)}): the demo's simulator, REST channel "
            "and non-secure cookie must not face a real WeChat account or Twilio number; unset "
            + ", ".join(unsafe))
    defaults = {
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",  # library deprecation noise is not for the person trying the bot
        **{name: values[1] if real else values[0] for name, values in DEMO_CONVENIENCES.items()},
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
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

    def __init__(self, name: str, argv: List[str], env: Dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.backoff_s = RESTART_BACKOFF_S[0]
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> subprocess.Popen:
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, preexec_fn=_die_with_parent,
                                         stdout=out, stderr=subprocess.STDOUT)
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


def prepare_demo(env: Mapping[str, str], log: Path) -> bool:
    """Schema, demo data and demo staff (idempotent): the ``bot`` command's own steps, run as child
    processes with their output appended to ``log``. False when one failed."""
    migrate()
    var_dir = get_settings().var_dir
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    var_dir.chmod(0o700)  # demo CSVs, the database and pii.key live here
    with open(log, "ab") as out:
        for step in (["seed-demo", "--if-empty"], ["staff", "demo"]):
            done = subprocess.run([sys.executable, "-m", "bot.cli", *step], cwd=ROOT, env=dict(env),
                                  stdout=out, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


#: What the README's REST example pipes into, so the answer reads as Chinese, not \uXXXX escapes.
READABLE_JSON = "python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False, indent=1))'"


def banner(env: Mapping[str, str], rasa_port: int, seconds: float, log_dir: Path) -> str:
    """What a person trying the bot reads first: where to go, the demo staff, where the logs are."""
    base = f"http://127.0.0.1:{rasa_port}"
    settings = get_settings()
    staff_file = settings.var_dir / "demo-staff.txt"
    lines = ["", f"ready in {seconds:.0f} s"]
    if parse_bool("SIMULATOR_ENABLED", env.get("SIMULATOR_ENABLED", "false")):
        lines.append(f"  WeChat simulator:  {base}/simulator/")
    lines.append(f"  agent console:     {base}/console/")
    if staff_file.exists():
        lines += ["  demo staff (username, role, password):",
                  *("    " + line for line in staff_file.read_text(encoding="utf-8").splitlines())]
    if parse_bool("REST_CHANNEL_ENABLED", env.get("REST_CHANNEL_ENABLED", "false")):
        lines.append(f"  REST channel:      curl -s {base}/webhooks/rest/webhook "
                     f"-d '{{\"sender\":\"me\",\"message\":\"你好\"}}' | {READABLE_JSON}")
    lines += [f"  server logs:       {log_dir}/", "Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def run(rasa_port: int = 5005, actions_port: int = 5055) -> int:
    """Start the embedded demo and wait for Ctrl-C. Exit status 0 when stopped, 1 when it could not
    start, 2 on a configuration error (printed as one line)."""
    try:
        env = demo_environment(rasa_port, actions_port)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    real = [name for name in REAL_SECRETS if env.get(name)]
    if real:
        print(f"WARNING: real secrets set ({', '.join(real)}): the simulator and the REST channel stay off and the "
              "console cookie is secure (https only). `bot run` is the demo; production runs the servers "
              "as the README's Production section says.", file=sys.stderr, flush=True)
    model = current_model()
    if model is None:
        print("no trained model in models/: run `make train` (or `make run`, which trains)", file=sys.stderr)
        return 1
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    get_settings.cache_clear()
    log_dir = get_settings().var_dir / "log"
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    print(f"starting the bot (a minute at most; server output goes to {log_dir}/) …", flush=True)
    if not prepare_demo(env, log_dir / "setup.log"):
        print(f"preparing the demo failed:\n{_tail(log_dir / 'setup.log')}", file=sys.stderr)
        return 1

    procs: List[subprocess.Popen] = []
    started = time.monotonic()
    # a terminal closing or a process manager stopping us ends the servers too, like Ctrl-C
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        actions = Child("action server", [sys.executable, "-m", "bot.action_server", "--port", str(actions_port),
                                          "--interface", "127.0.0.1"], env, log_dir / "actions.log")
        procs.append(actions.start())
        server = Child("Rasa server", [str(VENV_BIN / "rasa"), "run", "--model", str(model), "--credentials",
                                       "credentials.yml", "--endpoints", "endpoints.yml", "--port", str(rasa_port),
                                       "--interface", "127.0.0.1"], env, log_dir / "rasa.log")
        procs.append(server.start())
        # the background worker: notices to customers, reminders, the escalation scan (bot/jobs.py)
        worker = Child("worker", [sys.executable, "-m", "bot.cli", "worker"], env, log_dir / "worker.log")
        procs.append(worker.start())
        ok = _wait_http(f"http://127.0.0.1:{actions_port}/health", procs[0], 300) and _wait_http(
            f"http://127.0.0.1:{rasa_port}/ready", procs[1], 600  # a busy machine loads the model slowly
        )
        if not ok:
            print("the bot did not start; the end of its logs:", file=sys.stderr)
            for name in ("actions.log", "rasa.log"):
                print(f"--- {log_dir / name}\n{_tail(log_dir / name)}", file=sys.stderr)
            _stop(procs)
            return 1
        print(banner(env, rasa_port, time.monotonic() - started, log_dir), flush=True)
        children = [actions, server, worker]
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
