"""`make scale-demo`: the production topology on this machine — 2 Rasa servers + 2 action servers behind
nginx, PostgreSQL, Redis, RabbitMQ (event broker) and the job-queue worker — from the checkout.

Uses PostgreSQL at SCALE_DEMO_PG (default postgresql://postgres@127.0.0.1:5432/powerbot_scale, created
when missing, migrated, demo data and demo staff loaded), Redis at REDIS_URL (default
redis://127.0.0.1:6379/0) and RabbitMQ at EVENT_BROKER_URL (default amqp://guest:guest@127.0.0.1:5672/).
The PII key is generated into var/scale/pii.key unless PII_KEY is set. Prints the load balancer's URL;
Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import ROOT
from bot.runner import current_model
from bot.topology import start_topology

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/powerbot_scale"


def _ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar():
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def _pii_key(var_dir: Path) -> str:
    path = var_dir / "pii.key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-servers", type=int, default=2)
    parser.add_argument("--action-servers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080, help="the load balancer's port")
    args = parser.parse_args()

    model = current_model()
    if model is None:
        print("no trained model in models/: run `make train`", file=sys.stderr)
        return 1
    var_dir = ROOT / "var" / "scale"
    database_url = os.environ.get("SCALE_DEMO_PG", DEFAULT_PG)
    env = {
        "DATABASE_URL": database_url,
        "POWERBOT_VAR_DIR": str(var_dir),
        "PII_KEY": os.environ.get("PII_KEY") or _pii_key(var_dir),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "EVENT_BROKER_URL": os.environ.get("EVENT_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        "SIMULATOR_ENABLED": os.environ.get("SIMULATOR_ENABLED", "true"),
        "REST_CHANNEL_ENABLED": os.environ.get("REST_CHANNEL_ENABLED", "true"),
        "CONSOLE_COOKIE_SECURE": "false",  # plain http on localhost
    }
    _ensure_database(database_url)
    bot = str(ROOT / ".venv" / "bin" / "bot")
    for command in (["migrate"], ["seed-demo", "--if-empty"], ["staff", "demo"]):
        subprocess.run([bot, *command], cwd=ROOT, env={**os.environ, **env}, check=True)

    started = time.monotonic()
    topology = start_topology(var_dir / "run", env, model, args.rasa_servers, args.action_servers, lb_port=args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(
            f"\nready in {time.monotonic() - started:.0f} s: {len(topology.rasa_servers())} Rasa servers and "
            f"{args.action_servers} action servers behind nginx\n"
            f"  load balancer:     {topology.lb_url}\n"
            f"  WeChat simulator:  {topology.lb_url}/simulator/\n"
            f"  agent console:     {topology.lb_url}/console/   (demo staff: {var_dir / 'demo-staff.txt'})\n"
            f"  metrics:           each server's /metrics (ports in {var_dir / 'run' / 'nginx.conf'})\n"
            f"  logs:              {var_dir / 'run'}/*.log\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(p.proc.poll() is None for p in topology.parts):
            time.sleep(0.5)
        print("a part stopped unexpectedly; see its log in " + str(var_dir / "run"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        topology.stop()


if __name__ == "__main__":
    sys.exit(main())
