"""A normal (non-editable) install carries the whole product: the wheel built from this tree,
installed alone into a fresh venv, migrates an empty database and serves the console page with
its templates and static files. (bot/domain and bot/migrations once lacked __init__.py, so a wheel
left out the core.)"""

from __future__ import annotations

import os
import shutil
import site
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, Iterator

import pytest
from cryptography.fernet import Fernet

from bot.config import ROOT
from tests.eventually import eventually
from tests.harness import free_port

pytestmark = pytest.mark.wheel

SERVE_CONSOLE = """
import sys
from sanic import Sanic
from bot.console.channel import ConsoleInput

channel = ConsoleInput()
app = Sanic("wheel_probe")
app.blueprint(channel.blueprint(lambda message: None), url_prefix=channel.url_prefix())
app.run("127.0.0.1", int(sys.argv[1]), workers=1, access_log=False)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Iterator[Dict[str, object]]:
    """A throw-away venv holding only the wheel of this tree; third-party packages come from the
    project's venv through a .pth file (never its editable install of this repository)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in ("bot", "actions"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, cwd=work, timeout=300)
    wheel = next(dist.glob("powerbot-*.whl"))
    venv = work / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = next((venv / "lib").glob("python3.*")) / "site-packages"
    (target / "project_venv.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
                    str(wheel)], check=True, cwd=work, env=env, timeout=300)
    # console scripts are not written by --target: the entry point as pip would write it
    script = venv / "bin" / "bot"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom bot.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env.update({"DATABASE_URL": f"sqlite:///{work / 'empty.db'}", "POWERBOT_VAR_DIR": str(work / "var"),
                "PII_KEY": Fernet.generate_key().decode(), "SERVICE_RULES_FILE": str(ROOT / "service_rules.yml")})
    yield {"venv": venv, "env": env, "cwd": work, "db": work / "empty.db", "wheel": wheel}


def _python(installed, code: str) -> str:
    venv: Path = installed["venv"]  # type: ignore[assignment]
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=installed["cwd"], env=installed["env"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_package_comes_from_the_throw_away_venv_not_the_repository(installed):
    where = _python(installed, "import bot, bot.domain.models, bot.migrations; print(bot.__file__)").strip()
    assert where.startswith(str(installed["venv"])), where
    assert not where.startswith(str(ROOT))


def test_the_wheel_carries_migrations_templates_static_files_and_canned_replies(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for needed in ("bot/domain/__init__.py", "bot/domain/models.py", "bot/migrations/env.py",
                   "bot/migrations/script.py.mako", "bot/migrations/versions/0001_foundation.py",
                   "bot/console/templates/login.html", "bot/console/static/console.js",
                   "bot/console/canned_replies.yml", "bot/channels/simulator_static/index.html",
                   "actions/__init__.py"):
        assert needed in names, needed


def test_bot_migrate_from_the_wheel_creates_the_schema_in_an_empty_database(installed):
    venv: Path = installed["venv"]  # type: ignore[assignment]
    done = subprocess.run([str(venv / "bin" / "bot"), "migrate"], cwd=installed["cwd"], env=installed["env"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(installed["db"]) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"accounts", "bills", "tickets", "alembic_version"} <= tables


def test_the_console_page_and_its_static_files_are_served_from_the_wheel(installed, tmp_path):
    venv: Path = installed["venv"]  # type: ignore[assignment]
    port = free_port()
    log = tmp_path / "console.log"
    proc = subprocess.Popen([str(venv / "bin" / "python"), "-c", SERVE_CONSOLE, str(port)], cwd=installed["cwd"],
                            env=installed["env"], stdout=open(log, "wb"), stderr=subprocess.STDOUT)

    def fetch(path: str) -> str | None:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return None

    try:
        login = eventually(lambda: fetch("/console/login"), timeout=180, what="the console from the wheel")
        assert "<form" in login and "password" in login
        assert "function" in (fetch("/console/static/console.js") or "")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
