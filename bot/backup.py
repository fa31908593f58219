"""Backups of the back-end database: ``bot backup DEST`` and ``bot restore SRC``.

PostgreSQL is dumped with the server's own ``pg_dump`` in its custom format (compressed, restored with
``pg_restore``, which drops and recreates every object first); the embedded SQLite file is copied with
SQLite's online backup API (:meth:`sqlite3.Connection.backup`), which gives a consistent copy while the
bot keeps writing. Both copies hold personal data encrypted under ``PII_KEY`` as the database does: a
backup is useless without that key, and the key is never written into it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.db import dispose_engines


class BackupError(RuntimeError):
    """A backup or restore could not be made (tool missing, tool failed, file missing)."""


def _libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (``postgresql+psycopg2://`` → ``postgresql://``)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file to back up")
    return Path(path)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH (install the PostgreSQL client of the server's version)")
    return found


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {result.stderr.strip()[:500]}")


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` is ``b`` or one of SQLite's companion files of ``b`` (``-wal``, ``-shm``)."""
    a = a.resolve()
    return any(a == Path(f"{b.resolve()}{suffix}") for suffix in ("", "-wal", "-shm", "-journal"))


def backup(database_url: str, dest: Path) -> Path:
    """Write a full copy of the database at ``database_url`` to the file ``dest`` (replaced if present;
    created 0600, it holds customers' records). Returns ``dest``; raises :class:`BackupError` — also, before
    anything is written, when ``dest`` is a directory or the database file itself."""
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: give the backup file's name")
    if database_url.startswith("sqlite") and _same_file(dest, _sqlite_path(database_url)):
        raise BackupError(f"{dest} is the database itself: give another file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    dest.touch(mode=0o600)
    if database_url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(database_url))
        target = sqlite3.connect(dest)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(dest), _libpq_url(database_url)])
    return dest


def restore(database_url: str, src: Path) -> None:
    """Replace every table of the database at ``database_url`` with the copy in ``src`` (made by
    :func:`backup` for the same kind of database). Stop the bot first on PostgreSQL (``pg_restore --clean``
    drops the tables it recreates). Raises :class:`BackupError`."""
    if not src.is_file():
        raise BackupError(f"{src}: no such backup file")
    dispose_engines()  # pooled connections must not hold locks on the tables being replaced
    if database_url.startswith("sqlite"):
        path = _sqlite_path(database_url)
        if _same_file(src, path):
            raise BackupError(f"{src} is the database itself: give a backup file")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)  # it holds customers' records
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        except sqlite3.DatabaseError as exc:  # not a SQLite file, or the database is in use
            raise BackupError(f"cannot restore {src} into {path}: {exc} (is it a backup of this kind of "
                              "database, and is the bot stopped?)") from exc
        finally:
            target.close()
            source.close()
    else:
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", "--dbname", _libpq_url(database_url), str(src)])
