"""The production topology on one machine, from the checkout: N Rasa servers and N action servers behind
nginx, on PostgreSQL, Redis and RabbitMQ, plus the job-queue worker (``bot worker``) when this version of
the bot has one. ``make scale-demo`` runs it (``scripts/scale_demo.py``); the scale-out tests start it.

Each part is its own process, as a platform would run them (``deploy/`` has the same topology for
docker-compose and Kubernetes):

```
            ┌──────────── nginx (lb_url) ────────────┐
            ▼                                        ▼
      rasa run :P1                             rasa run :P2     ── Redis (locks, de-dup, tokens, sessions)
            └────── nginx (action upstream) ─────────┘          ── PostgreSQL (records, SQL tracker store)
                 ▼                         ▼                    ── RabbitMQ (Rasa's event broker, pika)
      bot.action_server :A1      bot.action_server :A2
                                        bot worker (job queue)
```

nginx passes a request on to the next server when one refuses the connection (``proxy_next_upstream``),
so a dead server costs only the requests it was working on; WeChat retries those, and the channel's
short de-duplication claims and conversation locks let the surviving server answer them.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from bot.cli import build_parser
from bot.config import ROOT

VENV_BIN = ROOT / ".venv" / "bin"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_worker_command() -> bool:
    """Does this version of the bot have ``bot worker`` (the job queue)?"""
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return "worker" in commands.choices


def nginx_config(workdir: Path, lb_port: int, rasa_ports: List[int], actions_lb_port: int,
                 actions_ports: List[int]) -> str:
    """nginx configuration: the public entry (Rasa servers) and the action servers' entry."""
    tmp = workdir / "nginx-tmp"

    def upstream(name: str, ports: List[int]) -> str:
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in ports)
        return f"  upstream {name} {{\n{servers}\n    keepalive 32;\n  }}\n"

    proxy = (
        "      proxy_http_version 1.1;\n"
        '      proxy_set_header Connection "";\n'
        "      proxy_set_header Host $http_host;\n"
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "      proxy_set_header X-Forwarded-Proto $scheme;\n"
        "      proxy_set_header X-Request-ID $request_id;\n"
        "      proxy_next_upstream error timeout http_502 http_503;\n"
        "      proxy_connect_timeout 2s;\n"
        "      proxy_read_timeout 300s;\n"
    )
    return (
        "worker_processes 1;\n"
        "daemon off;\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'nginx-error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"  access_log {workdir / 'nginx-access.log'};\n"
        f"  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n"
        f"  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
        "  client_max_body_size 2m;\n"
        # keep bodies in memory: Rasa posts the domain and tracker (hundreds of KB) to the action servers,
        # and nginx's workers may not be allowed to write temp files where the master was started
        "  client_body_buffer_size 2m;\n  proxy_request_buffering off;\n  proxy_max_temp_file_size 0;\n"
        + upstream("rasa_servers", rasa_ports)
        + upstream("action_servers", actions_ports)
        + f"  server {{\n    listen 127.0.0.1:{lb_port};\n    location / {{\n      proxy_pass http://rasa_servers;\n"
        + proxy + "    }\n  }\n"
        + f"  server {{\n    listen 127.0.0.1:{actions_lb_port};\n    location / {{\n"
        "      proxy_pass http://action_servers;\n" + proxy + "    }\n  }\n"
        "}\n"
    )


def _wait(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited while starting; log:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {timeout} s; log:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class Part:
    """One process of the topology."""

    name: str
    proc: subprocess.Popen
    log: Path
    url: Optional[str] = None


@dataclass
class Topology:
    """A running topology: ``lb_url`` is what WeChat, Twilio and agents reach."""

    lb_url: str
    actions_url: str
    env: Dict[str, str]
    workdir: Path
    parts: List[Part] = field(default_factory=list)

    def rasa_servers(self) -> List[Part]:
        return [p for p in self.parts if p.name.startswith("rasa-")]

    def kill(self, part: Part) -> None:
        """SIGKILL one part (a crash, as a test or a chaos drill wants it)."""
        if part.proc.poll() is None:
            part.proc.kill()
            part.proc.wait(timeout=30)

    def stop(self) -> None:
        for part in reversed(self.parts):
            if part.proc.poll() is None:
                part.proc.send_signal(signal.SIGTERM if part.name == "nginx" else signal.SIGINT)
        for part in self.parts:
            try:
                part.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                part.proc.kill()

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.log.read_text(errors="replace")[-3000:] for p in self.parts)


def start_topology(workdir: Path, env: Dict[str, str], model: Path, rasa_servers: int = 2,
                   action_servers: int = 2, worker: Optional[bool] = None, lb_port: Optional[int] = None,
                   start_timeout_s: float = 240.0) -> Topology:
    """Start the topology; ``env`` must configure PostgreSQL (``DATABASE_URL``, ``PII_KEY``), Redis and,
    for the event broker, ``EVENT_BROKER_URL``. The database must be migrated. ``worker`` None = start
    ``bot worker`` when this version has it. Raises RuntimeError (with the log) when a part fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "nginx-tmp").mkdir(exist_ok=True)
    lb_port = lb_port or free_port()
    actions_lb_port = free_port()
    rasa_ports = [free_port() for _ in range(rasa_servers)]
    actions_ports = [free_port() for _ in range(action_servers)]
    lb_url = f"http://127.0.0.1:{lb_port}"
    actions_url = f"http://127.0.0.1:{actions_lb_port}/webhook"
    full_env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TRACKER_STORE": "sql",
        "PUBLIC_BASE_URL": lb_url,
        # one shared secret for the Rasa servers' calls to the action servers (an operator's own wins)
        "ACTION_SERVER_TOKEN": os.environ.get("ACTION_SERVER_TOKEN") or secrets.token_urlsafe(32),
        **env,
        "ACTION_ENDPOINT_URL": actions_url,
    }
    topology = Topology(lb_url, actions_url, full_env, workdir)

    def spawn(name: str, argv: List[str], url: Optional[str] = None) -> Part:
        log = workdir / f"{name}.log"
        proc = subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        part = Part(name, proc, log, url)
        topology.parts.append(part)
        return part

    try:
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_config(workdir, lb_port, rasa_ports, actions_lb_port, actions_ports))
        nginx = spawn("nginx", [NGINX, "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "nginx-error.log")])
        for i, port in enumerate(actions_ports, 1):
            spawn(f"actions-{i}", [str(VENV_BIN / "python"), "-m", "bot.action_server", "--port", str(port),
                                   "--interface", "127.0.0.1"], f"http://127.0.0.1:{port}")
        for i, port in enumerate(rasa_ports, 1):
            spawn(f"rasa-{i}", [str(VENV_BIN / "rasa"), "run", "--model", str(model), "--credentials",
                                "credentials.yml", "--endpoints", "endpoints.yml", "--port", str(port),
                                "--interface", "127.0.0.1"], f"http://127.0.0.1:{port}")
        if worker if worker is not None else has_worker_command():
            spawn("worker", [str(VENV_BIN / "bot"), "worker"])
        for part in topology.parts:
            if part.url and part.name.startswith("actions-"):
                _wait(part.url + "/health", part.proc, start_timeout_s, part.log)
        for part in topology.parts:
            if part.url and part.name.startswith("rasa-"):
                _wait(part.url + "/ready", part.proc, start_timeout_s, part.log)
        _wait(lb_url + "/health", nginx.proc, 30, nginx.log)
    except BaseException:
        topology.stop()
        raise
    return topology
