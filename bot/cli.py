"""The ``bot`` command: operator tasks on the back-end records.

    bot migrate                      create / upgrade the database schema (Alembic)
    bot import DIR                   load accounts.csv, bills.csv, planned_outages.csv from DIR
    bot seed-demo [--if-empty]       write the demo CSV set under var/demo and import it
    bot staff add NAME --role ROLE   create a staff user (prints a generated password)
    bot staff list                   list staff users
    bot staff disable|enable NAME    stop / allow a staff user signing in
    bot staff reset-password NAME    a new generated password for a staff user (printed)
    bot staff demo                   one demo user per role (embedded demo), passwords in var/demo-staff.txt
    bot wechat menu push [--dry-run] create the Official Account's menu from wechat_menu.yml (WECHAT_MENU_FILE)
    bot run                          the whole bot on embedded defaults (what `make run` calls)
    bot worker [--workers N]         the background worker: notices, reminders, escalation scan (Huey consumer)
    bot backup DEST                  copy the whole database to the file DEST (pg_dump / SQLite backup API)
    bot restore SRC                  replace the database with the backup in SRC (stop the bot first)
    bot export-customer (--account NO | --sender ID) [--out FILE]   what we hold about a customer (JSON)
    bot erase-customer (--account NO | --sender ID) --confirm       erase a customer's personal data
    bot prune                        delete transcripts, trackers, outbox bodies older than DATA_RETENTION_DAYS
    bot rotate-pii-key [--batch-size N] [--max-batches N]   re-encrypt personal data under the newest PII_KEY

Exit status: 0 on success, 1 when something was refused (bad rows, bad arguments), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import List, Sequence

from sqlalchemy import func, select

from bot import runner, startup
from bot.config import ConfigError, get_settings
from bot.db import migrate, session_scope


def _print(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate()
    _print("database schema is up to date")
    return 0


def _report(results: Sequence) -> int:
    failed = 0
    for r in results:
        if r.ok:
            _print(f"{r.file}: {r.rows} rows ({r.inserted} new, {r.updated} updated)")
        else:
            failed += 1
            _print(f"{r.file}: NOT loaded ({len(r.errors)} problems, nothing from this file was written)")
            for e in r.errors:
                _print(f"  {e}")
    return 1 if failed else 0


def cmd_import(args: argparse.Namespace) -> int:
    from bot.domain.importer import import_dir

    try:
        results = import_dir(Path(args.dir), session_scope, actor="cli:import")
    except FileNotFoundError as exc:
        _print(str(exc))
        return 1
    return _report(results)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from bot.domain.demo import generate, seed_crews
    from bot.domain.importer import import_dir
    from bot.domain.models import Account

    with session_scope() as s:
        added = seed_crews(s)
    if added:
        _print(f"demo crews: {', '.join(added)}")
    if args.if_empty:
        with session_scope() as s:
            if s.scalar(select(func.count()).select_from(Account)):
                _print("demo data: already present")
                return 0
    out = Path(args.out) if args.out else get_settings().var_dir / "demo"
    counts = generate(out, n_accounts=args.accounts, seed=args.seed)
    _print(f"demo data written to {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return _report(import_dir(out, session_scope, actor="cli:seed-demo"))


def cmd_staff_add(args: argparse.Namespace) -> int:
    from bot.domain import staff

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.ask_password:
        password = getpass.getpass("password: ")
    try:
        with session_scope() as s:
            user, password = staff.add(s, args.name, args.role, password, args.display_name, actor="cli:staff")
    except staff.StaffError as exc:
        _print(f"refused: {exc}")
        return 1
    _print(f"staff user {user.username} ({user.role}) created")
    if not (args.password_stdin or args.ask_password):
        _print(f"password: {password}")
    return 0


def cmd_staff_list(_args: argparse.Namespace) -> int:
    from bot.domain import staff

    with session_scope() as s:
        for u in staff.all_users(s):
            _print(f"{u.username:20} {u.role:10} {'active' if u.active else 'disabled'}")
    return 0


def cmd_staff_set(args: argparse.Namespace) -> int:
    """Disable, enable or reset the password of a staff user (recovery when no administrator can sign in)."""
    from bot.console import sessions
    from bot.domain import staff

    with session_scope() as s:
        user = staff.get(s, args.name)
        if user is None:
            _print(f"refused: no staff user {args.name!r}")
            return 1
        if args.staff_command == "reset-password":
            password = staff.reset_password(s, user, actor="cli:staff")
            sessions.revoke_all(s, user)
            _print(f"new password for {user.username}: {password}")
        else:
            staff.set_active(s, user, args.staff_command == "enable", actor="cli:staff")
            if args.staff_command == "disable":
                sessions.revoke_all(s, user)
            _print(f"staff user {user.username} {args.staff_command}d")
    return 0


DEMO_STAFF = (("demo_agent", "agent", "演示坐席"), ("demo_supervisor", "supervisor", "演示班长"),
              ("demo_admin", "admin", "演示管理员"), ("demo_dispatcher", "dispatcher", "演示调度员"))


def cmd_staff_demo(_args: argparse.Namespace) -> int:
    """One staff user per role for the embedded demo; passwords printed and kept in var/demo-staff.txt."""
    from bot.domain import staff

    path = get_settings().var_dir / "demo-staff.txt"
    created = []
    with session_scope() as s:
        for username, role, display in DEMO_STAFF:
            if staff.get(s, username) is None:
                _user, password = staff.add(s, username, role, display_name=display, actor="cli:staff-demo")
                created.append(f"{username}\t{role}\t{password}")
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in created))
        os.chmod(path, 0o600)
    if path.exists():
        _print("demo staff (username, role, password):", *("  " + line for line in path.read_text().splitlines()))
    return 0


def cmd_wechat_menu_push(args: argparse.Namespace) -> int:
    """Create the account's custom menu at WeChat (menu/create replaces the whole menu)."""
    import asyncio
    import json

    from bot.channels.wechat_menu import MenuError, load_menu
    from bot.messaging.wechat_api import WeChatApiClient, WeChatResult

    settings = get_settings()
    try:
        menu = load_menu(settings.wechat_menu_file).to_wechat()
    except (OSError, MenuError) as exc:
        _print(f"{settings.wechat_menu_file}: {exc}")
        return 1
    if args.dry_run:
        _print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    if not settings.wechat_api_configured:
        _print("refused: set WECHAT_APPID and WECHAT_SECRET (and WECHAT_API_BASE_URL if not api.weixin.qq.com)")
        return 1

    async def push() -> WeChatResult:
        client = WeChatApiClient(settings)
        try:
            return await client.create_menu(menu)
        finally:
            await client.close()

    result = asyncio.run(push())
    if not result.ok:
        _print(f"WeChat refused the menu: {result.errcode} {result.errmsg}")
        return 1
    _print(f"menu pushed: {len(menu['button'])} buttons from {settings.wechat_menu_file}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return runner.run(rasa_port=args.port, actions_port=args.actions_port)


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        dest = backup(get_settings().database_url, Path(args.dest))
    except BackupError as exc:
        _print(f"backup failed: {exc}")
        return 1
    _print(f"backup written to {dest} ({dest.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    try:
        restore(get_settings().database_url, Path(args.src))
    except BackupError as exc:
        _print(f"restore failed: {exc}")
        return 1
    _print(f"database restored from {args.src}")
    return 0


def _customer_args(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", help="the account number (户号): every channel identity bound to it")
    who.add_argument("--sender", help="a conversation's sender id, e.g. wechat:<openid>")


def cmd_export_customer(args: argparse.Namespace) -> int:
    """Write what we hold about one customer as JSON (PIPL art. 45) to --out (0600) or standard output."""
    import json

    from bot.domain import privacy

    with session_scope() as s:
        try:
            customer = privacy.find(s, account_no=args.account, sender_id=args.sender)
        except privacy.CustomerNotFound as exc:
            _print(f"refused: {exc}")
            return 1
        data = privacy.export(s, customer, actor="cli:export-customer")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        out = Path(args.out)
        out.unlink(missing_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        _print(f"customer data written to {out}")
    else:
        _print(text)
    return 0


def cmd_erase_customer(args: argparse.Namespace) -> int:
    """Erase one customer's personal data (PIPL art. 47); refused without --confirm."""
    from bot.domain import privacy

    if not args.confirm:
        _print("refused: erasing cannot be undone; add --confirm")
        return 1
    with session_scope() as s:
        try:
            customer = privacy.find(s, account_no=args.account, sender_id=args.sender)
        except privacy.CustomerNotFound as exc:
            _print(f"refused: {exc}")
            return 1
        counts = privacy.erase(s, customer, actor="cli:erase-customer")
    _print("erased: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0


def cmd_prune(_args: argparse.Namespace) -> int:
    """Apply DATA_RETENTION_DAYS (run daily)."""
    from bot.domain import privacy

    days = get_settings().data_retention_days
    with session_scope() as s:
        result = privacy.prune(s, days)
    _print(f"pruned data older than {days} days: transcript {result.transcript}, tracker events "
           f"{result.tracker_events}, outbox bodies {result.outbox_bodies} (the audit log is kept)")
    return 0


def cmd_rotate_pii_key(args: argparse.Namespace) -> int:
    """Re-encrypt every encrypted value under the first key of PII_KEY, in batches, while the bot runs
    (README, "Rotating the personal-data key"); resumable: run it again after an interruption."""
    from bot.domain import pii_rotation
    from bot.domain.pii import PiiKeyError, cipher

    c = cipher()
    _print(f"rotating personal data to key {c.primary_fingerprint} ({c.key_count} key(s) in PII_KEY), "
           f"{args.batch_size} rows per batch")
    if c.key_count == 1:
        _print("PII_KEY holds one key: only checking that every value is under it")

    def on_batch(t: pii_rotation.TableProgress) -> None:
        _print(f"{t.table}: {t.scanned_rows}/{t.total_rows} rows, {t.rotated} rotated, {t.current} already "
               f"current" + (f", {t.failed} NOT decryptable" if t.failed else ""))

    try:
        result = pii_rotation.rotate(batch_size=args.batch_size, max_batches=args.max_batches, on_batch=on_batch)
    except PiiKeyError as exc:
        _print(f"refused: {exc}")
        return 1
    _print(f"rotated {result.total('rotated')}, already current {result.total('current')}, rewritten meanwhile "
           f"{result.total('changed')}, not decryptable {result.total('failed')} ({result.batches} batches)")
    if result.total("failed"):
        _print("some values decrypt under no key of PII_KEY (left as they are): was a key removed too early?")
        return 1
    if not result.complete:
        _print("stopped before the end (--max-batches): run the command again to finish")
        return 0
    _print("done: every value is under the first key; the other keys can be removed from PII_KEY")
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="电力营销智能客服 — operator commands")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)

    p = sub.add_parser("import", help="import the marketing system's CSV exports from DIR")
    p.add_argument("dir")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("seed-demo", help="generate and import the demo data set")
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--out", help="directory for the CSV files (default var/demo)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when accounts exist already")
    p.set_defaults(func=cmd_seed_demo)

    staff = sub.add_parser("staff", help="staff users").add_subparsers(dest="staff_command", required=True)
    p = staff.add_parser("add", help="create a staff user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    p.add_argument("--display-name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    group.add_argument("--ask-password", action="store_true", help="prompt for the password")
    p.set_defaults(func=cmd_staff_add)
    staff.add_parser("list", help="list staff users").set_defaults(func=cmd_staff_list)
    for name, what in (("disable", "stop a staff user signing in (ends their console sessions)"),
                       ("enable", "let a disabled staff user sign in again"),
                       ("reset-password", "print a new generated password (ends their sessions, lifts a lockout)")):
        p = staff.add_parser(name, help=what)
        p.add_argument("name")
        p.set_defaults(func=cmd_staff_set)
    staff.add_parser("demo", help="create the demo staff users (embedded demo)").set_defaults(func=cmd_staff_demo)

    wechat = sub.add_parser("wechat", help="the WeChat Official Account").add_subparsers(dest="wechat_command",
                                                                                        required=True)
    menu = wechat.add_parser("menu", help="the custom menu").add_subparsers(dest="menu_command", required=True)
    p = menu.add_parser("push", help="create the menu at WeChat from the menu file")
    p.add_argument("--dry-run", action="store_true", help="print the menu/create body instead of sending it")
    p.set_defaults(func=cmd_wechat_menu_push)

    p = sub.add_parser("worker", help="run the background worker (notices, reminders, escalation scan)")
    p.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("run", help="run the whole bot on embedded defaults")
    p.add_argument("--port", type=int, default=5005)
    p.add_argument("--actions-port", type=int, default=5055)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backup", help="copy the whole database to a file")
    p.add_argument("dest")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    p.add_argument("src")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("export-customer", help="what we hold about a customer, as JSON (PIPL art. 45)")
    _customer_args(p)
    p.add_argument("--out", help="write to this file (0600) instead of standard output")
    p.set_defaults(func=cmd_export_customer)
    p = sub.add_parser("erase-customer", help="erase a customer's personal data (PIPL art. 47)")
    _customer_args(p)
    p.add_argument("--confirm", action="store_true", help="required: erasing cannot be undone")
    p.set_defaults(func=cmd_erase_customer)
    sub.add_parser("prune", help="apply DATA_RETENTION_DAYS (run daily)").set_defaults(func=cmd_prune)
    p = sub.add_parser("rotate-pii-key", help="re-encrypt personal data under the first key of PII_KEY (resumable)")
    p.add_argument("--batch-size", type=_positive, default=500, help="rows per transaction (default 500)")
    p.add_argument("--max-batches", type=_positive, default=None, help="stop after this many batches (run again "
                   "to go on)")
    p.set_defaults(func=cmd_rotate_pii_key)
    return parser


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from bot.domain.pii import install_log_redaction
    from bot.jobs import run_worker

    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    run_worker(workers=max(1, args.workers))
    return 0


def main(argv: List[str] | None = None) -> int:
    """Run one command; a configuration error is printed as one line (exit status 2)."""
    args = build_parser().parse_args(argv)
    try:
        if args.func is not cmd_run:  # `bot run` checks the demo's environment, which it builds first
            startup.start_cli()
        return int(args.func(args) or 0)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
