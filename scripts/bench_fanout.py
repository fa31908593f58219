"""Fan-out benchmark: a planned outage affecting N customers (default 5,000), each with a bound WeChat user
inside the 48-hour window, sent by the real ``bot worker`` to the fake WeChat API limited to R requests/s
(default 100; beyond it the fake answers 45009). Measures the time from registering the outage to the last
notice accepted, and counts duplicates.

    .venv/bin/python scripts/bench_fanout.py [--customers N] [--rate R]     (also part of make bench)

The goal (issue 12): the last notice accepted within 60 s (the rate alone needs N/R = 50 s), zero duplicates.

The worker's rate is set explicitly: ``NOTICE_RATE_WECHAT`` = 95 % of the fake's limit, shared by the worker
processes (default one). The product's default, 50/s per worker process, is a production setting for two
workers sharing an account's quota; one process can carry the whole quota (about 2 ms of CPU per notice),
so the bench runs one and gives it the quota. The worker never sends more than its rate within a sliding
second; the 5 % margin is for the fake, which counts a request when its threads get to it (tens of ms later
on a loaded machine) and refuses it with 45009 when that puts 101 in its second.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_S = 60.0
#: The share of the provider's limit the workers are configured to use (NOTICE_RATE_WECHAT, all processes).
RATE_SHARE = 0.95


def run_fanout(workdir: Path, customers: int = 5000, rate: float = 100.0, processes: int = 1) -> Dict[str, object]:
    """Run the fan-out once in ``workdir``; its figures."""
    from cryptography.fernet import Fernet
    from sqlalchemy import func, select

    env = dict(os.environ, PII_KEY=os.environ.get("PII_KEY") or Fernet.generate_key().decode(),
               DATABASE_URL=f"sqlite:///{workdir / 'fanout.db'}", POWERBOT_VAR_DIR=str(workdir / "var"),
               NOTICE_QUIET_HOURS="00:00-00:00", RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1",
               PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    os.environ.update({k: env[k] for k in ("PII_KEY", "DATABASE_URL", "POWERBOT_VAR_DIR", "NOTICE_QUIET_HOURS")})

    from bot.clock import utcnow
    from bot.config import get_settings
    from bot.db import migrate, session_scope
    from bot.domain import outages
    from bot.domain.models import Account, Binding, Contact, Notice
    from bot.domain.pii import cipher, phone_hash
    from tests.fakes.wechat import FakeWeChatApi

    get_settings.cache_clear()
    migrate()
    now = utcnow()
    with session_scope() as s:
        for i in range(customers):
            phone = f"139{i:08d}"
            account = Account(account_no=f"59{i:08d}", name="测试户", phone=phone, phone_hash=phone_hash(phone),
                              address=f"城关镇东关村{i}号", township="城关镇", village="东关村", area_type="urban",
                              category="residential", tariff="tiered", prepaid=False, balance=0)
            openid = f"oFanout{i:08d}"
            contact = Contact(channel="wechat", sender_id=f"wechat:{openid}",
                              external_hash=cipher().lookup_hash(f"wechat:{openid}"), external_id=openid,
                              last_inbound_at=now - timedelta(hours=1), created_at=now)
            s.add_all([account, contact])
            s.flush()
            s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
    fake = FakeWeChatApi(rate_limit=rate)
    # the provider's limit shared by the worker processes, a little under it (evenly paced buckets)
    worker_rate = rate * RATE_SHARE / processes
    env.update(fake.bot_env(), NOTICE_RATE_WECHAT=str(worker_rate), NOTICE_CONCURRENCY="16")
    started = time.monotonic()
    with session_scope() as s:
        outages.upsert(s, outage_id="JH-BENCH-1", kind="planned", township="城关镇", villages=["东关村"],
                       start=now + timedelta(days=8), end=now + timedelta(days=8, hours=6), reason="线路检修",
                       actor="bench")
    planned_s = time.monotonic() - started
    log = open(workdir / "worker.log", "ab")
    workers = [subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT) for _ in range(processes)]
    try:
        deadline = started + GOAL_S * 3
        while time.monotonic() < deadline:
            with fake._lock:
                accepted = sum(1 for m in fake.sent if m.touser.startswith("oFanout"))
                last = max((m.at for m in fake.sent), default=started)
            if accepted >= customers:
                break
            time.sleep(0.2)
        elapsed = last - started
        with fake._lock:
            per_user = collections.Counter(m.touser for m in fake.sent)
        duplicates = sum(n - 1 for n in per_user.values() if n > 1)
        ticks = os.sysconf("SC_CLK_TCK")
        worker_cpu_s = 0.0
        for worker in workers:
            fields = (Path("/proc") / str(worker.pid) / "stat").read_text().rsplit(")", 1)[1].split()
            worker_cpu_s += (int(fields[11]) + int(fields[12])) / ticks
        with session_scope() as s:
            by_status = dict(s.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.close()
        fake.stop()
    return {"customers": customers, "rate": rate, "processes": processes, "worker_rate": worker_rate,
            "planned_s": planned_s, "accepted": len(per_user),
            "last_accepted_s": elapsed, "worker_cpu_s": worker_cpu_s, "duplicates": duplicates, "rate_limited": fake.rate_limited,
            "notices": by_status, "load": os.getloadavg()[0], "met": len(per_user) >= customers and duplicates == 0 and elapsed <= GOAL_S}


def render(result: Dict[str, object]) -> str:
    """The report section for reports/bench.md."""
    r = result
    return "\n".join([
        "## Notice fan-out (planned outage → WeChat, rate-limited)", "",
        f"A planned outage for one village of {r['customers']:,} customers, each with a bound WeChat user inside the",
        f"48-hour window, registered as the integration API does; the real `bot worker` (Huey on SQLite; "
        f"{r['processes']} process{'es' if r['processes'] != 1 else ''}) sends",
        f"customer-service messages to the fake WeChat API limited to {r['rate']:.0f} requests/s (45009 beyond it).",
        f"The rate is set explicitly: `NOTICE_RATE_WECHAT={r['worker_rate']:g}` per process, "
        f"{RATE_SHARE:.0%} of the fake's limit (the default,",
        "50/s per process, is for two production workers sharing an account's quota; one process carries all of it;",
        "the margin is for the fake, which counts a request when its threads get to it).",
        "",
        "| measure | value | goal |", "|---|---|---|",
        f"| notices planned (in the registering transaction) | {r['planned_s']:.1f} s | |",
        f"| last notice accepted, from registration | {r['last_accepted_s']:.1f} s | ≤ {GOAL_S:.0f} s "
        f"(rate bound {r['customers'] / r['rate']:.0f} s) |",
        f"| customers reached | {r['accepted']:,} / {r['customers']:,} | all |",
        f"| duplicates | {r['duplicates']} | 0 |",
        f"| refused by the rate limit (45009; retried after 1 s, 2 s …) | {r['rate_limited']} | |",
        f"| worker CPU time (user + system, all processes) | {r['worker_cpu_s']:.1f} s | |",
        f"| machine load average when it ended (1 min) | {r['load']:.1f} on {os.cpu_count()} cores | |",
        "", f"Goal {'met' if r['met'] else 'missed'}. Notices by outcome: "
        + ", ".join(f"{k} {v}" for k, v in sorted(r["notices"].items())) + ".", "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description="notice fan-out benchmark")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--processes", type=int, default=1, help="worker processes sharing the rate limit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        result = run_fanout(Path(tmp), args.customers, args.rate, args.processes)
    print(json.dumps(result, ensure_ascii=False))
    print(render(result))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
