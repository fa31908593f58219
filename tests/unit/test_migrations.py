"""Alembic: every revision upgrades an empty database and one at the previous revision with rows in it,
and the models agree with what the migrations build."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from bot.db import Base, alembic_config, dispose_engines, migrate
from tests.conftest import PG_BASE, _pg_admin

REVISIONS = [r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))]


@pytest.fixture
def empty_pg():
    import uuid

    name = f"powerbot_mig_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield f"{PG_BASE}/{name}"
    dispose_engines()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_head_on_an_empty_postgresql_database(empty_pg):
    migrate(empty_pg)
    engine = create_engine(empty_pg, future=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == REVISIONS[-1]
    engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_upgrade_from_the_previous_revision_keeps_rows(empty_pg, revision):
    index = REVISIONS.index(revision)
    previous = REVISIONS[index - 1] if index else None
    engine = create_engine(empty_pg, future=True)
    if previous:
        migrate(empty_pg, previous)
        with engine.begin() as conn:  # columns as they were in the first revision
            conn.execute(text(
                "INSERT INTO accounts (account_no, name, phone_hash, address, township, area_type, category, tariff,"
                " prepaid, balance, updated_at) VALUES ('5100000901', 'gAAAA-not-real', NULL, '城关镇东关村1号', '城关镇',"
                " 'urban', 'residential', 'tiered', false, 12.5, now())"))
    migrate(empty_pg)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == REVISIONS[-1]
        if previous:
            assert conn.execute(text("SELECT account_no, balance FROM accounts")).all() == [("5100000901", 12.5)]
    engine.dispose()


def test_models_and_migrations_agree(db):
    engine = create_engine(db.url, future=True)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []
