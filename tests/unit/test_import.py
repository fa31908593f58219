"""`bot import`: exact CSV formats, idempotent, all-or-nothing per file, errors named by file and line."""

import textwrap
from pathlib import Path

from sqlalchemy import func, select

from bot.cli import main as bot_main
from bot.domain.importer import import_dir
from bot.domain.models import Account, Bill, PlannedOutage

ACCOUNTS = """\
account_no,name,phone,address,township,area_type,category,tariff,prepaid,balance
5100000201,王秀英,13900003333,银坊镇北庄村8号,银坊镇,rural,residential,tiered,false,-56.20
5100000202,李国庆,,城关镇中心街3号,城关镇,urban,commercial,tiered,true,120.00
5100000203123,赵春生,13900004444,银坊镇北庄村9号,银坊镇,rural,residential,tou,false,0
"""
BILLS = """\
account_no,period,kwh,kwh_peak,kwh_valley,amount,due_date,paid_at
5100000201,2026-09,210,,,110.70,2026-10-25,2026-10-20T10:00:00
5100000201,2026-10,190,,,99.30,2026-11-25,
5100000203123,2026-10,300,200,100,151.00,2026-11-25,
"""
OUTAGES = """\
outage_id,township,villages,start,end,reason
JH1,银坊镇,北庄村;南庄村,2026-12-01T08:00,2026-12-01T18:00,线路检修
JH2,城关镇,,2026-12-02 09:00,2026-12-02T12:00+08:00,变压器更换
"""


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / f"{name}.csv").write_text(textwrap.dedent(content), encoding="utf-8")
    return directory


def counts(db):
    with db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Account, Bill, PlannedOutage))


def test_importing_the_same_directory_twice_leaves_identical_rows(db, tmp_path):
    d = write(tmp_path, accounts=ACCOUNTS, bills=BILLS, planned_outages=OUTAGES)
    first = import_dir(d, db.session)
    assert all(r.ok for r in first), [r.errors for r in first]
    assert counts(db) == (3, 3, 2)
    second = import_dir(d, db.session)
    assert [(r.inserted, r.updated) for r in second] == [(0, 3), (0, 3), (0, 2)]
    assert counts(db) == (3, 3, 2)


def test_reimport_updates_values_in_place(db, tmp_path):
    import_dir(write(tmp_path, accounts=ACCOUNTS), db.session)
    import_dir(write(tmp_path, accounts=ACCOUNTS.replace("-56.20", "0.00").replace("王秀英", "王秀兰")), db.session)
    with db.session() as s:
        account = s.scalar(select(Account).where(Account.account_no == "5100000201"))
        assert (str(account.balance), account.name, account.village) == ("0.00", "王秀兰", "北庄村")


def test_planned_outage_times_are_local_and_stored_as_utc(db, tmp_path):
    import_dir(write(tmp_path, planned_outages=OUTAGES), db.session)
    with db.session() as s:
        jh2 = s.scalar(select(PlannedOutage).where(PlannedOutage.outage_id == "JH2"))
        assert (jh2.start.hour, jh2.end.hour) == (1, 4)


def test_a_bad_row_loads_nothing_from_that_file_and_names_file_line_and_reason(db, tmp_path):
    bad = ACCOUNTS.replace("13900004444", "2390000444")  # line 4: not a mobile number
    results = import_dir(write(tmp_path, accounts=bad), db.session)
    assert not results[0].ok
    assert results[0].errors == ["accounts.csv:4: phone: must be a mainland mobile number (11 digits starting with 1)"]
    assert counts(db) == (0, 0, 0)


def test_every_bad_row_is_reported(db, tmp_path):
    bad = ACCOUNTS.replace(",rural,", ",village,", 1).replace("5100000202", "51000002")
    errors = import_dir(write(tmp_path, accounts=bad), db.session)[0].errors
    assert errors == [
        "accounts.csv:2: area_type: must be one of urban|rural|remote, got 'village'",
        "accounts.csv:3: account_no: must be 10 or 13 digits",
    ]


def test_unknown_and_missing_columns_are_named(db, tmp_path):
    bad = ACCOUNTS.replace("balance", "saldo", 1)
    errors = import_dir(write(tmp_path, accounts=bad), db.session)[0].errors
    assert errors == ["accounts.csv:1: unknown column 'saldo'", "accounts.csv:1: missing column 'balance'"]


def test_bills_must_match_their_account_and_tariff(db, tmp_path):
    import_dir(write(tmp_path, accounts=ACCOUNTS), db.session)
    bad = BILLS + "5100009999,2026-10,10,,,5.20,2026-11-25,\n5100000201,2026-08,100,60,40,52.00,2026-09-25,\n"
    errors = import_dir(write(tmp_path / "b", bills=bad), db.session)[0].errors
    assert errors == [
        "bills.csv:5: account_no: no such account 5100009999",
        "bills.csv:6: kwh_peak: must be empty unless the tariff is tou",
    ]
    assert counts(db) == (3, 0, 0)


def test_a_failing_file_does_not_stop_the_others(db, tmp_path):
    results = import_dir(write(tmp_path, accounts=ACCOUNTS, planned_outages=OUTAGES.replace("2026-12-01T18:00", "2026-11-30T18:00")),
                         db.session)
    assert [r.ok for r in results] == [True, False]
    assert results[1].errors == ["planned_outages.csv:2: end: must be after start"]
    assert counts(db) == (3, 0, 0)


def test_duplicate_keys_inside_one_file_are_an_error(db, tmp_path):
    errors = import_dir(write(tmp_path, planned_outages=OUTAGES + "JH1,城关镇,,2026-12-03T08:00,2026-12-03T09:00,x\n"),
                        db.session)[0].errors
    assert errors == ["planned_outages.csv:4: duplicate of line 2"]


def test_cli_prints_the_bad_row_and_exits_non_zero(tmp_path, capsys, monkeypatch, sqlite_template):
    import shutil

    dbfile = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, dbfile)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{dbfile}")
    from bot.config import get_settings

    get_settings.cache_clear()
    try:
        bad = ACCOUNTS.replace("120.00", "12O.00")
        assert bot_main(["import", str(write(tmp_path / "in", accounts=bad))]) == 1
        out = capsys.readouterr().out
        assert "accounts.csv: NOT loaded" in out
        assert "accounts.csv:3: balance: not a number: '12O.00'" in out
        assert bot_main(["import", str(write(tmp_path / "ok", accounts=ACCOUNTS))]) == 0
        assert "accounts.csv: 3 rows (3 new, 0 updated)" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
