"""Shared test fixtures: real SQLite and real PostgreSQL databases, a fixed test PII key.

Every test that takes ``db`` runs twice, once per backend. Each test gets its own freshly migrated
database (a copied SQLite file, or a PostgreSQL database created from a migrated template), so tests
never see each other's rows and the append-only audit log never needs to be emptied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.fernet import Fernet

# Configure the process before any bot module reads settings.
_TMP = Path(os.environ.get("POWERBOT_TEST_TMP", "/tmp")) / f"powerbot-tests-{os.getpid()}"
_TMP.mkdir(parents=True, exist_ok=True)
os.environ.update(
    {
        "PII_KEY": Fernet.generate_key().decode(),
        "POWERBOT_VAR_DIR": str(_TMP / "var"),
        "DATABASE_URL": f"sqlite:///{_TMP / 'default.db'}",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
)
for _name in ("REDIS_URL", "WECHAT_AES_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"):
    os.environ.pop(_name, None)

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.db import dispose_engines, migrate, session_scope  # noqa: E402
from bot.domain.pii import install_log_redaction  # noqa: E402

install_log_redaction()

pytest_plugins = ["tests.fakes.wechat", "tests.fakes.twilio"]

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0]


class Db:
    """One test database: its URL and a way to open a unit of work on it."""

    def __init__(self, url: str, backend: str) -> None:
        self.url = url
        self.backend = backend

    def session(self) -> contextlib.AbstractContextManager[Session]:
        return session_scope(self.url)

    def __repr__(self) -> str:
        return f"Db({self.backend})"


def _pg_admin(*statements: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template() -> Iterator[Path]:
    path = _TMP / "template.db"
    migrate(f"sqlite:///{path}")
    dispose_engines()
    yield path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"powerbot_tmpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    migrate(f"{PG_BASE}/{name}")
    dispose_engines()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')


def new_database(backend: str, request: pytest.FixtureRequest) -> Iterator[Db]:
    """A freshly migrated, empty database of ``backend``; dropped afterwards."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = _TMP / f"t-{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(template, path)
        yield Db(f"sqlite:///{path}", "sqlite")
        dispose_engines()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        template_name: str = request.getfixturevalue("pg_template")
        name = f"powerbot_t_{uuid.uuid4().hex[:10]}"
        # a test database need not survive a crash: commits without waiting for the disk (most of the
        # suite's time on PostgreSQL was fsync)
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"',
                  f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        yield Db(f"{PG_BASE}/{name}", "postgresql")
        dispose_engines()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """A fresh database, once per backend."""
    yield from new_database(request.param, request)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_TMP, ignore_errors=True)
