"""Backup → wipe → restore drill: a restored database has every row back, personal data still decrypts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select, text

from bot.backup import BackupError, backup, restore
from bot.db import dispose_engines, get_engine, session_scope
from bot.domain import audit, transcript
from bot.domain.models import Account, Contact, TranscriptEntry
from bot.domain.pii import mask_phone, phone_hash
from tests.factories import PHONE_A, PHONE_B, make_account, make_bill, make_contact


def _counts(url: str) -> dict:
    engine = get_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(table)) for name, table in meta.tables.items()}


def _wipe(db) -> None:
    """Lose the database: the SQLite file is gone, or every PostgreSQL table is dropped."""
    if db.backend == "sqlite":
        dispose_engines()
        for suffix in ("", "-wal", "-shm"):
            Path(db.url.split("///", 1)[1] + suffix).unlink(missing_ok=True)
    else:
        with get_engine(db.url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        dispose_engines()


def test_a_backup_restored_after_the_database_is_lost_has_every_row_and_decrypts(db, tmp_path):
    with db.session() as s:
        account = make_account(s, "5100000101", name="张建国", phone=PHONE_A)
        make_account(s, "5100000102", name="李秀英", phone=PHONE_B)
        make_bill(s, account, "2026-10", 180)
        contact = make_contact(s, "wechat", "oWxBackupOpenid01")
        transcript.append(s, contact.sender_id, "wechat", "in", "customer", "我家停电了")
        audit.record(s, "cli:test", "test.seed")
    before = _counts(db.url)
    assert before["accounts"] == 2 and before["transcript"] == 1 and before["audit_log"] == 1

    dump = backup(db.url, tmp_path / "powerbot.backup")
    assert dump.stat().st_size > 0 and dump.stat().st_mode & 0o077 == 0
    _wipe(db)
    restore(db.url, dump)

    assert _counts(db.url) == before
    if db.backend == "sqlite":
        assert Path(db.url.split("///", 1)[1]).stat().st_mode & 0o077 == 0, "restored file readable by others"
    with db.session() as s:
        restored = s.scalars(select(Account).order_by(Account.account_no)).all()
        assert [a.name for a in restored] == ["张建国", "李秀英"]
        assert [mask_phone(a.phone) for a in restored] == [mask_phone(PHONE_A), mask_phone(PHONE_B)]
        assert restored[0].phone == PHONE_A, "decrypted phone differs"  # compared, never printed
        assert s.scalar(select(Account.account_no).where(Account.phone_hash == phone_hash(PHONE_B))) == "5100000102"
        assert s.scalar(select(Contact.external_id)) == "oWxBackupOpenid01"
        assert s.scalar(select(TranscriptEntry.text)) == "我家停电了"
        # the restored audit log is still append-only
        assert s.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1


def test_restoring_a_missing_file_is_refused_and_leaves_the_database_alone(db, tmp_path):
    with db.session() as s:
        make_account(s)
    with pytest.raises(BackupError, match="no such backup file"):
        restore(db.url, tmp_path / "nothing-here.backup")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 1


def test_a_backup_onto_the_database_itself_or_a_directory_is_refused_before_anything_is_written(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    with session_scope(url) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    dispose_engines()
    for dest, why in [(tmp_path / "live.db", "the database itself"), (tmp_path / "live.db-wal", "the database itself"),
                      (tmp_path, "a directory")]:
        with pytest.raises(BackupError, match=why):
            backup(url, dest)
        with pytest.raises(BackupError):
            restore(url, dest)
    with session_scope(url) as s:
        assert s.scalar(text("SELECT count(*) FROM t")) == 1
    dispose_engines()


def test_restoring_a_file_that_is_no_backup_is_a_clear_refusal(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    junk = tmp_path / "hostname"
    junk.write_text("not a database\n" * 200)
    with pytest.raises(BackupError, match="cannot restore"):
        restore(url, junk)


def test_the_operator_commands_back_up_and_restore(db, tmp_path):
    with db.session() as s:
        make_account(s)
    env = {**os.environ, "DATABASE_URL": db.url}
    dest = tmp_path / "nightly.backup"
    made = subprocess.run([sys.executable, "-m", "bot.cli", "backup", str(dest)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "backup written to" in made.stdout
    with db.session() as s:
        make_account(s, "5100000199", phone=None)  # written after the backup: gone after the restore
    dispose_engines()
    back = subprocess.run([sys.executable, "-m", "bot.cli", "restore", str(dest)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert back.returncode == 0, back.stdout + back.stderr
    with db.session() as s:
        assert s.scalars(select(Account.account_no)).all() == ["5100000101"]
