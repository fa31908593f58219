"""Database engine and sessions: one engine per process, one short session per unit of work.

Callers never share a session across requests: they write ``with session_scope() as s:`` around one
unit of work, which commits on success and rolls back on any exception.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.config import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

Base = declarative_base()

#: SQLAlchemy's warning that SQLite stores NUMERIC as REAL. It converts back to Decimal at the
#: column's scale (2), which is exact for money in 元 and kWh with two decimals: the embedded default
#: accepts that, and bot/startup.py silences it once per process.
SQLITE_DECIMAL_WARNING = r"Dialect sqlite\+pysqlite does \*not\* support Decimal"

_lock = threading.Lock()
_engines: Dict[str, Engine] = {}
_factories: Dict[str, sessionmaker] = {}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"  # inside the package, also in the wheel


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the Rasa server, the action server and the CLI use one file concurrently.
    cursor.execute("PRAGMA journal_mode=WAL")
    # with WAL, NORMAL never corrupts the file; an OS crash may lose the last commits (the embedded
    # default only — production runs on PostgreSQL)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_private_file(path: Path) -> None:
    """Create a SQLite database file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode): it holds customers' records. A new parent directory is 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: ``DATABASE_URL``)."""
    url = url or get_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[-1]
                if path and path != ":memory:":
                    create_private_file(Path(path))
                # a pool (SQLAlchemy 1.4 defaults to none for SQLite files): opening a connection and
                # setting its pragmas costs more than most queries
                engine = create_engine(
                    url, future=True, poolclass=QueuePool, pool_size=5, max_overflow=10,
                    connect_args={"check_same_thread": False, "timeout": 10},
                )
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, future=True, pool_pre_ping=True, pool_size=10, max_overflow=20)
            _engines[url] = engine
            _factories[url] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return engine


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    get_engine(url)
    factory = _factories[url or get_settings().database_url]
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _factories.clear()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for ``url`` without needing alembic.ini on the path."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema at ``url`` to ``revision`` (creating the database file if needed)."""
    from alembic import command

    get_engine(url)  # creates the SQLite directory
    command.upgrade(alembic_config(url), revision)
