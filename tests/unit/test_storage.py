"""Personal data is never in clear in the raw storage (SQLite file, PostgreSQL dump)."""

import csv
import subprocess
from pathlib import Path

from sqlalchemy import create_engine

from bot.db import dispose_engines
from bot.domain import accounts
from bot.domain.demo import generate
from bot.domain.importer import import_dir


def raw_storage(db) -> bytes:
    dispose_engines()
    if db.backend == "sqlite":
        path = db.url.split("///", 1)[1]
        engine = create_engine(db.url, future=True)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if Path(p).exists())
    return subprocess.run(["pg_dump", "--data-only", db.url], check=True, capture_output=True).stdout


def test_demo_phones_and_names_are_not_in_clear_but_can_be_looked_up(db, tmp_path):
    generate(tmp_path, n_accounts=40)
    assert all(r.ok for r in import_dir(tmp_path, db.session))
    with open(tmp_path / "accounts.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    known = rows[7]
    storage = raw_storage(db)
    assert len(storage) > 10_000
    assert known["account_no"].encode() in storage  # the dump is real and readable
    for row in rows:
        assert row["phone"].encode() not in storage
        assert row["name"].encode("utf-8") not in storage
    with db.session() as s:
        found = accounts.by_phone(s, known["phone"])
        assert [a.account_no for a in found] == [known["account_no"]]
        assert found[0].name == known["name"]
