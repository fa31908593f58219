"""Rotating the personal-data key while the bot runs: a new key first in PII_KEY, `bot rotate-pii-key`
re-encrypts in batches (resumable), the old key removed — and every phone and SMS conversation is still
found, because lookup hashes are under PII_LOOKUP_KEY, which does not rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Callable, Dict, List

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Integer, MetaData, Table, Text, select

from bot import cli
from bot.config import ConfigError, get_settings, load_settings
from bot.db import get_engine
from bot.domain import accounts, contacts, pii, pii_rotation, tickets, transcript
from bot.domain.models import Account, AuditEntry, Contact, OutboundMessage, TranscriptEntry
from bot.messaging import outbox
from tests.factories import PHONE_A, PHONE_B, make_account

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
NAMES = ["张建国", "李秀英", "王桂兰", "赵德明", "刘玉梅", "陈志强", "杨淑珍"]


@pytest.fixture
def use_keys(monkeypatch) -> Callable[..., None]:
    """Configure the process like an operator would (environment), then restart its key holders."""

    def configure(pii_key: str, lookup_key: str | None = None) -> None:
        monkeypatch.setenv("PII_KEY", pii_key)
        if lookup_key is None:
            monkeypatch.delenv("PII_LOOKUP_KEY", raising=False)
        else:
            monkeypatch.setenv("PII_LOOKUP_KEY", lookup_key)
        get_settings.cache_clear()
        pii.cipher.cache_clear()

    yield configure
    get_settings.cache_clear()
    pii.cipher.cache_clear()


def _seed(db) -> Dict[str, str]:
    """Customers written under the old key alone: accounts, an SMS conversation with its transcript, a
    ticket's call-back phone, an outbox message. Returns what to find again."""
    with db.session() as s:
        for i, name in enumerate(NAMES):
            make_account(s, f"51000001{i:02d}", name=name, phone=PHONE_A if i == 0 else PHONE_B)
        sms = contacts.get_or_create(s, "sms", PHONE_A)
        transcript.append(s, sms.sender_id, "sms", "in", "customer", "我家停电了，电话13900001111")
        transcript.append(s, sms.sender_id, "sms", "out", "bot", "已为您登记抢修工单")
        tickets.create(s, "complaint", "sms", "抄表员态度不好", contact=sms, callback_phone=PHONE_A)
        outbox.record(s, "demo_sms", "reply", PHONE_A, "您的验证码是123456", status="demo", contact_id=sms.id)
        return {"sms_sender": sms.sender_id}


def _tokens(url: str) -> List[str]:
    """Every encrypted value of the database as stored."""
    metadata = MetaData()
    found = []
    with get_engine(url).connect() as conn:
        for name, (key, columns) in pii_rotation.encrypted_columns().items():
            table = Table(name, metadata, Column(key, Integer, primary_key=True), *[Column(c, Text) for c in columns])
            for row in conn.execute(select(*[table.c[c] for c in columns])):
                found += [value for value in row if value is not None]
    return found


def _under(key: str, tokens: List[str]) -> int:
    count = 0
    for token in tokens:
        try:
            Fernet(key.encode()).decrypt(token.encode())
        except InvalidToken:
            continue
        count += 1
    return count


def test_a_rotation_interrupted_halfway_and_run_again_leaves_every_value_under_the_new_key(db, use_keys):
    use_keys(OLD)  # the database as it was created, before PII_LOOKUP_KEY existed
    seeded = _seed(db)
    old_values = len(_tokens(db.url))
    assert old_values == 7 * 2 + 1 + 2 + 1 + 2  # names+phones, SMS identity, transcript, call-back, outbox

    use_keys(f"{NEW},{OLD}", lookup_key=OLD)  # step 1: the new key first, the lookup key pinned; restart
    with db.session() as s:  # the bot keeps writing meanwhile: under the new key
        transcript.append(s, seeded["sms_sender"], "sms", "in", "customer", "谢谢")

    first = pii_rotation.rotate(db.url, batch_size=2, max_batches=3)
    assert not first.complete and first.batches == 3
    halfway = _tokens(db.url)
    done = 3 * 2 * 2  # three batches of two accounts, name and phone each
    assert first.total("rotated") == done and _under(NEW, halfway) == done + 1
    assert _under(OLD, halfway) == old_values - done
    with db.session() as s:  # halfway, everything still reads
        assert sorted(a.name for a in s.scalars(select(Account))) == sorted(NAMES)

    second = pii_rotation.rotate(db.url, batch_size=2)
    assert second.complete and second.total("failed") == 0
    assert second.total("rotated") == old_values - done, "nothing rotated twice, nothing left behind"
    assert second.total("current") == done + 1

    use_keys(NEW, lookup_key=OLD)  # step 3: the old key removed
    tokens = _tokens(db.url)
    assert _under(NEW, tokens) == len(tokens) == old_values + 1 and _under(OLD, tokens) == 0
    with db.session() as s:
        assert sorted(a.name for a in s.scalars(select(Account))) == sorted(NAMES)
        assert [a.account_no for a in accounts.by_phone(s, PHONE_A)] == ["5100000100"]
        assert len(accounts.by_phone(s, PHONE_B)) == 6
        sms = contacts.get_or_create(s, "sms", PHONE_A)  # the SMS conversation id carries a lookup-hash prefix
        assert sms.sender_id == seeded["sms_sender"] and s.scalar(select(Contact.id).where(Contact.id > sms.id)) is None
        assert [e.text for e in s.scalars(select(TranscriptEntry).order_by(TranscriptEntry.id))] == [
            "我家停电了，电话13900001111", "已为您登记抢修工单", "谢谢"]
        assert s.scalar(select(OutboundMessage.body)) == "您的验证码是123456"
        assert tickets.for_contact(s, sms)[0].callback_phone == PHONE_A
        assert s.scalar(select(OutboundMessage.id).where(
            OutboundMessage.recipient_hash == outbox.recipient_hash("phone", PHONE_A))) is not None

        runs = s.scalars(select(AuditEntry).where(AuditEntry.action == pii_rotation.AUDIT_ACTION)
                         .order_by(AuditEntry.id)).all()
    assert [r.outcome for r in runs] == ["started", "incomplete", "started", "ok"]
    assert runs[-1].detail["rotated"] == old_values - done and runs[-1].detail["key"] == pii.key_fingerprint(NEW.encode())
    logged = repr([(r.actor, r.target_id, r.detail) for r in runs])
    assert "1111" not in logged and "张建国" not in logged and NEW not in logged and OLD not in logged


def test_rotating_again_when_everything_is_rotated_changes_nothing(db, use_keys):
    use_keys(OLD)
    _seed(db)
    use_keys(f"{NEW},{OLD}", lookup_key=OLD)
    pii_rotation.rotate(db.url, batch_size=500)
    before = _tokens(db.url)
    again = pii_rotation.rotate(db.url, batch_size=500)
    assert again.complete and again.total("rotated") == 0 and again.total("current") == len(before)
    assert _tokens(db.url) == before, "tokens already under the new key are not rewritten"


def test_the_command_prints_progress_and_refuses_to_call_it_done_when_a_value_decrypts_under_no_key(
        db, use_keys, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    use_keys(Fernet.generate_key().decode())  # a key since lost
    with db.session() as s:
        make_account(s, "5100000199", name="孙立新", phone=PHONE_A)
    use_keys(OLD)
    with db.session() as s:
        make_account(s, "5100000198", name="周桂芳", phone=PHONE_B)
    use_keys(f"{NEW},{OLD}", lookup_key=OLD)

    assert cli.main(["rotate-pii-key", "--batch-size", "1"]) == 1
    out = capsys.readouterr().out
    assert "accounts: 1/2 rows, 0 rotated" in out and "accounts: 2/2 rows, 2 rotated" in out
    assert "not decryptable 2" in out and "was a key removed too early?" in out
    assert "孙立新" not in out and "13900001111" not in out


def test_the_command_stops_after_max_batches_and_says_to_run_it_again(db, use_keys, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    use_keys(OLD)
    _seed(db)
    use_keys(f"{NEW},{OLD}", lookup_key=OLD)
    assert cli.main(["rotate-pii-key", "--batch-size", "3", "--max-batches", "1"]) == 0
    assert "run the command again to finish" in capsys.readouterr().out
    assert cli.main(["rotate-pii-key"]) == 0
    assert "done: every value is under the first key" in capsys.readouterr().out


def test_a_lookup_key_that_is_not_the_databases_is_refused_before_anything_changes(db, use_keys, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    use_keys(OLD)
    _seed(db)
    before = _tokens(db.url)
    use_keys(f"{NEW},{OLD}", lookup_key=NEW)  # step 1 done wrong: phones would no longer be found
    assert cli.main(["rotate-pii-key"]) == 1
    assert "refused: PII_LOOKUP_KEY does not reproduce" in capsys.readouterr().out
    assert _tokens(db.url) == before


# ---------------------------------------------------------------------------------------- configuration


def test_pii_key_takes_several_keys_newest_first():
    settings = load_settings({"PII_KEY": f" {NEW} , {OLD} ", "PII_LOOKUP_KEY": OLD})
    assert settings.pii_keys == (NEW, OLD) and settings.pii_lookup_key == OLD


@pytest.mark.parametrize("env, message", [
    ({"PII_KEY": f"{NEW},not-a-key", "PII_LOOKUP_KEY": OLD}, "PII_KEY: key 2 of 2 is not a Fernet key"),
    ({"PII_KEY": f"{NEW},{NEW}", "PII_LOOKUP_KEY": OLD}, "PII_KEY: the same key is given twice"),
    ({"PII_KEY": f"{NEW},{OLD}"}, "PII_LOOKUP_KEY: required when PII_KEY holds more than one key"),
    ({"PII_KEY": NEW, "PII_LOOKUP_KEY": "short"}, "PII_LOOKUP_KEY: key 1 of 1 is not a Fernet key"),
    ({"PII_KEY": ","}, "PII_KEY: expected one or more Fernet keys"),
])
def test_a_bad_pii_key_stops_start_up_naming_the_variable_never_the_key(env, message):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert str(error.value).startswith(message)
    assert NEW not in str(error.value) and OLD not in str(error.value)


def test_without_a_lookup_key_the_hashes_are_derived_from_the_key_as_before_it_existed():
    before = hmac.new(base64.urlsafe_b64decode(OLD), b"powerbot/lookup/v1", hashlib.sha256).digest()
    expected = hmac.new(before, b"phone:13900001111", hashlib.sha256).hexdigest()
    assert pii.Cipher(OLD.encode()).lookup_hash("phone:13900001111") == expected
    pinned = pii.Cipher([NEW.encode(), OLD.encode()], lookup_key=OLD.encode())
    assert pinned.lookup_hash("phone:13900001111") == expected
    assert pii.Cipher(NEW.encode()).lookup_hash("phone:13900001111") != expected


def test_new_data_is_encrypted_with_the_first_key_and_old_data_still_reads():
    both = pii.Cipher([NEW.encode(), OLD.encode()])
    old_token = pii.Cipher(OLD.encode()).encrypt("李秀英")
    assert both.decrypt(old_token) == "李秀英" and not both.is_current(old_token)
    new_token = both.encrypt("李秀英")
    assert both.is_current(new_token) and pii.Cipher(NEW.encode()).decrypt(new_token) == "李秀英"
    assert pii.Cipher(NEW.encode()).decrypt(both.rotate(old_token)) == "李秀英"
