"""Re-encrypting personal data under the newest PII key (``bot rotate-pii-key``), while the bot runs.

The procedure (README, "Rotating the personal-data key"): the new key goes first into ``PII_KEY`` and every
process restarts — from then on new data is encrypted with it and old data still decrypts under the old
key (``MultiFernet``); :func:`rotate` then re-encrypts every old value; finally the old key is removed.
The lookup hashes (phones, SMS conversation ids) are under ``PII_LOOKUP_KEY``, which does not change.

What is rotated: every column of type :class:`~bot.domain.pii.EncryptedText` in the models (names, phones,
channel identities, transcripts, outbox recipients and bodies, notes, callback phones), found from the
models' metadata so a column added later is covered without a change here.

How: table by table in primary-key order, ``batch_size`` rows per transaction. A value already under the
newest key is left alone; any other is replaced by ``MultiFernet.rotate`` of it — the same text inside, never
an encryption of a token — only if it is still what was read (``UPDATE … WHERE id = ? AND col = <old
token>``), so a value the bot rewrote meanwhile (already under the newest key) is never overwritten with a
stale one. Killed at any point, a run leaves every row either old or rotated, both readable; run again, it
skips what is done and finishes the rest. A value no key decrypts is counted and left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select, update

from bot.db import Base, session_scope
from bot.domain import audit, models
from bot.domain.pii import Cipher, EncryptedText, PiiKeyError, cipher, normalize_phone

#: the audit action of a rotation run (bot/messages.py CONSOLE_AUDIT_ACTION_LABELS)
AUDIT_ACTION = "pii.rotate_key"


@dataclass
class TableProgress:
    """Counts of one table so far (values, not rows: a row may hold several encrypted columns)."""

    table: str
    total_rows: int = 0
    scanned_rows: int = 0
    rotated: int = 0  # values re-encrypted under the newest key by this run
    current: int = 0  # values already under it (written since the restart, or by an earlier run)
    changed: int = 0  # values the bot rewrote between our read and our write (under the newest key)
    failed: int = 0  # values no key of PII_KEY decrypts: left as they are
    done: bool = False  # scanned to the end


@dataclass
class RotationResult:
    """What one run did; ``complete``: every table scanned to its end (else stopped by ``max_batches``)."""

    tables: List[TableProgress] = field(default_factory=list)
    batches: int = 0
    complete: bool = False

    def total(self, what: str) -> int:
        """Sum of one counter (``rotated``, ``current``, ``changed``, ``failed``) over the tables."""
        return sum(getattr(t, what) for t in self.tables)


def encrypted_columns() -> Dict[str, Tuple[str, List[str]]]:
    """``{table: (primary-key column, [encrypted columns])}`` from the models' metadata."""
    found: Dict[str, Tuple[str, List[str]]] = {}
    assert models.Base is Base  # the models are imported: their tables are in the metadata
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, EncryptedText)]
        if not columns:
            continue
        keys = [c.name for c in table.primary_key.columns]
        if len(keys) != 1:
            raise RuntimeError(f"{table.name}: encrypted columns need a single-column primary key to rotate")
        found[table.name] = (keys[0], columns)
    return found


def _raw_table(name: str, key: str, columns: List[str]) -> Table:
    """The table with ``columns`` as plain text: tokens read and written as they are stored."""
    return Table(name, MetaData(), Column(key, Integer, primary_key=True), *[Column(c, Text) for c in columns])


def check_lookup_key(url: str | None, c: Cipher, sample: int = 20) -> None:
    """Refuse (:class:`~bot.domain.pii.PiiKeyError`) when the lookup key does not reproduce the lookup hashes
    stored with a sample of channel identities and registered phones: PII_LOOKUP_KEY is then not the key the
    database was made with, and every phone lookup and SMS conversation is already being missed. Values no
    key decrypts are left out of the sample."""
    checked = mismatched = 0
    contacts_raw = _raw_table("contacts", "id", ["channel", "external_id", "external_hash"])
    accounts_raw = _raw_table("accounts", "id", ["phone", "phone_hash"])
    with session_scope(url) as s:
        rows = [(f"{channel}:", token, stored) for channel, token, stored in s.execute(
            select(contacts_raw.c.channel, contacts_raw.c.external_id, contacts_raw.c.external_hash)
            .order_by(contacts_raw.c.id).limit(sample))]
        rows += [("phone:", token, stored) for token, stored in s.execute(
            select(accounts_raw.c.phone, accounts_raw.c.phone_hash).where(accounts_raw.c.phone_hash.is_not(None))
            .order_by(accounts_raw.c.id).limit(sample))]
    for prefix, token, stored in rows:
        try:
            value = c.decrypt(token)
            if prefix == "phone:":
                value = normalize_phone(value)  # as bot.domain.pii.phone_hash hashes it
        except (PiiKeyError, ValueError):
            continue
        checked += 1
        mismatched += c.lookup_hash(prefix + value) != stored
    if mismatched:
        raise PiiKeyError(f"PII_LOOKUP_KEY does not reproduce {mismatched} of {checked} stored lookup hashes: set it "
                          f"to the key this database was created with (its first PII_KEY) before rotating")


def _rotate_batch(url: str | None, table: Table, after: int, batch_size: int, c: Cipher,
                  progress: TableProgress) -> int | None:
    """One transaction: the next ``batch_size`` rows after primary key ``after``; their last key, or None
    when there were none."""
    key = table.primary_key.columns.values()[0]
    columns = [col for col in table.columns if col is not key]
    with session_scope(url) as s:
        rows = s.execute(select(key, *columns).where(key > after).order_by(key).limit(batch_size)).all()
        for row in rows:
            for col in columns:
                token = row._mapping[col]
                if token is None:
                    continue
                if c.is_current(token):
                    progress.current += 1
                    continue
                try:
                    rotated = c.rotate(token)
                except PiiKeyError:
                    progress.failed += 1
                    continue
                result = s.execute(update(table).where(key == row._mapping[key], col == token)
                                   .values({col.name: rotated}))
                if result.rowcount:
                    progress.rotated += 1
                else:
                    progress.changed += 1
        progress.scanned_rows += len(rows)
    return rows[-1]._mapping[key] if rows else None


def rotate(
    url: str | None = None,
    batch_size: int = 500,
    max_batches: int | None = None,
    on_batch: Callable[[TableProgress], None] | None = None,
    actor: str = "cli:rotate-pii-key",
) -> RotationResult:
    """Re-encrypt every encrypted value of the database at ``url`` (default ``DATABASE_URL``) under the newest
    key of PII_KEY, ``batch_size`` rows per transaction, stopping after ``max_batches`` transactions when
    given (a later run goes on). ``on_batch`` is called after each batch with its table's counts.

    Two audit entries without personal data: the run starting (outcome ``started``) and its counts at the
    end (``ok``; ``incomplete`` when stopped early; ``failed`` when some value decrypts under no key).
    Raises ``ValueError`` for a batch size below 1 and :class:`~bot.domain.pii.PiiKeyError` for missing keys
    or a lookup key that is not the database's (:func:`check_lookup_key`; then nothing is changed)."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    c = cipher()
    check_lookup_key(url, c)
    with session_scope(url) as s:
        audit.record(s, actor, AUDIT_ACTION, "database", "", outcome="started", key=c.primary_fingerprint,
                     keys=c.key_count, batch_size=batch_size)
    result = RotationResult()
    for name, (key, columns) in encrypted_columns().items():
        table = _raw_table(name, key, columns)
        progress = TableProgress(name)
        result.tables.append(progress)
        with session_scope(url) as s:
            progress.total_rows = int(s.scalar(select(func.count()).select_from(table)) or 0)
        after = 0
        while max_batches is None or result.batches < max_batches:
            last = _rotate_batch(url, table, after, batch_size, c, progress)
            if last is None:
                progress.done = True
                break
            result.batches += 1
            after = last
            if on_batch is not None:
                on_batch(progress)
        if not progress.done:
            break
    result.complete = all(t.done for t in result.tables) and len(result.tables) == len(encrypted_columns())
    outcome = "failed" if result.total("failed") else ("ok" if result.complete else "incomplete")
    with session_scope(url) as s:
        audit.record(s, actor, AUDIT_ACTION, "database", "", outcome=outcome, key=c.primary_fingerprint,
                     batches=result.batches, rotated=result.total("rotated"), current=result.total("current"),
                     changed=result.total("changed"), failed=result.total("failed"),
                     tables={t.table: t.rotated for t in result.tables if t.rotated})
    return result


__all__ = ["AUDIT_ACTION", "RotationResult", "TableProgress", "check_lookup_key", "encrypted_columns", "rotate"]
