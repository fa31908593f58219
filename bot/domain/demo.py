"""A realistic, reproducible demo data set for 涞源县 in the marketing system's CSV format.

``bot seed-demo`` writes accounts.csv, bills.csv and planned_outages.csv (the same shape the import
accepts) and imports them. The same seed gives the same data. Three fixed accounts are documented in
the README so a person trying the bot knows a 户号 to bind; every phone number is made up.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Dict, List

from sqlalchemy.orm import Session

from bot.clock import local_today, to_local, utcnow
from bot.domain import crews, tariffs
from bot.domain.importer import ACCOUNT_COLUMNS, BILL_COLUMNS, OUTAGE_COLUMNS
from bot.domain.rules import Rules, get_rules

# township -> (area type, villages)
TOWNSHIPS: Dict[str, tuple] = {
    "城关镇": ("urban", ["东关村", "西关村", "南屯村", "北关村", "城内村"]),
    "银坊镇": ("rural", ["银坊村", "北庄村", "南庄村", "团城村"]),
    "走马驿镇": ("rural", ["走马驿村", "驿南村", "辛庄村", "石门村"]),
    "水堡镇": ("rural", ["水堡村", "辛庄子村", "西南坡村"]),
    "王安镇": ("rural", ["王安村", "板城村", "石门口村"]),
    "杨家庄镇": ("rural", ["杨家庄村", "韩家庄村", "兴文村"]),
    "白石山镇": ("rural", ["白石山村", "大黄花村", "小黄花村"]),
    "留家庄乡": ("rural", ["留家庄村", "东留家庄村", "华岩寺村"]),
    "上庄乡": ("rural", ["上庄村", "下庄村", "南坡村"]),
    "东团堡乡": ("rural", ["东团堡村", "西团堡村", "黄土坎村"]),
    "塔崖驿乡": ("rural", ["塔崖驿村", "伊家铺村", "下北头村"]),
    "乌龙沟乡": ("remote", ["乌龙沟村", "羊角村", "南台村"]),
    "金家井乡": ("remote", ["金家井村", "独山村", "田家庄村"]),
    "南马庄乡": ("rural", ["南马庄村", "北马庄村", "七里庄村"]),
    "北石佛乡": ("rural", ["北石佛村", "南石佛村", "黄花村"]),
    "烟煤洞乡": ("remote", ["烟煤洞村", "大安村", "台底村"]),
}
STREETS = ["中心街", "红旗路", "迎宾路", "拒马东街", "府前街"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国志强秀英桂兰淑珍玉梅海燕丽娟文华红霞国庆春生德明永刚金凤立新宝山凤芝俊杰晓东子轩雨涵浩然欣怡振华双喜福来瑞雪"
# seasonal factor by month for residential use (heating and air-conditioning months are higher)
SEASON = {1: 1.35, 2: 1.25, 3: 1.0, 4: 0.85, 5: 0.85, 6: 1.05, 7: 1.35, 8: 1.3, 9: 0.95, 10: 0.85, 11: 1.0, 12: 1.3}
OUTAGE_REASONS = ["10kV线路检修", "配电变压器更换", "线路改造施工", "台区增容改造", "设备安全隐患排查"]


@dataclass(frozen=True)
class DemoAccount:
    """A fixed account the README names, so a person trying the bot can bind it."""

    account_no: str
    township: str
    village: str
    area_type: str
    category: str
    tariff: str
    prepaid: bool


FIXED = [
    DemoAccount("5100000001", "城关镇", "东关村", "urban", "residential", "tiered", False),
    DemoAccount("5100000002", "烟煤洞乡", "大安村", "remote", "residential", "tiered", True),
    DemoAccount("5100000003", "银坊镇", "北庄村", "rural", "residential", "tou", False),
]


def _period(d: date, back: int) -> str:
    index = d.year * 12 + d.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _phone(rng: random.Random, used: set) -> str:
    while True:
        phone = "1" + rng.choice("3578") + rng.choice("0123456789") + "".join(rng.choice("0123456789") for _ in range(8))
        if phone not in used:
            used.add(phone)
            return phone


def generate(out: Path, n_accounts: int = 300, seed: int = 20261127, now: datetime | None = None,
             rules: Rules | None = None) -> Dict[str, int]:
    """Write the three CSV files into ``out``; returns row counts per file."""
    rules = rules or get_rules()
    rng = random.Random(seed)
    now = now or utcnow()
    today = local_today(now)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    phones: set = set()
    accounts: List[dict] = []
    numbers = {a.account_no for a in FIXED}
    specs: List[DemoAccount] = list(FIXED)
    names = list(TOWNSHIPS)
    while len(specs) < n_accounts:
        number = "51" + "".join(rng.choice("0123456789") for _ in range(8))
        if number in numbers:
            continue
        numbers.add(number)
        township = rng.choice(names)
        area, villages = TOWNSHIPS[township]
        category = rng.choices(["residential", "commercial", "agricultural"], [85, 10, 5])[0]
        tariff = "tou" if category == "residential" and rng.random() < 0.25 else "tiered"
        specs.append(DemoAccount(number, township, rng.choice(villages), area, category, tariff, rng.random() < 0.4))

    bills: List[dict] = []
    for spec in specs:
        base = {"residential": rng.uniform(80, 240), "commercial": rng.uniform(300, 2000),
                "agricultural": rng.uniform(100, 1500)}[spec.category]
        unpaid_total = Decimal(0)
        skip_latest = rng.random() < 0.3
        in_arrears = rng.random() < 0.06
        for back in range(12, 0, -1):
            period = _period(today, back)
            month = int(period[5:])
            factor = SEASON[month] if spec.category != "agricultural" else (1.8 if month in (4, 5, 6, 7) else 0.6)
            kwh = Decimal(int(base * factor * rng.uniform(0.85, 1.15)))
            peak = valley = None
            if spec.tariff == "tou":
                peak = (kwh * Decimal(str(round(rng.uniform(0.55, 0.75), 2)))).quantize(Decimal(1))
                valley = kwh - peak
            charge = tariffs.charge_for(spec.category, spec.tariff, kwh, peak, valley, rules)
            y, m = (int(x) for x in period.split("-"))
            due = date(y + (m == 12), m % 12 + 1, 25)
            unpaid = (back == 1 and skip_latest) or (in_arrears and back <= 3)
            paid_at = "" if unpaid else f"{due - timedelta(days=rng.randint(1, 20))}T{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}:00"
            if unpaid:
                unpaid_total += charge.total
            bills.append({
                "account_no": spec.account_no, "period": period, "kwh": str(kwh),
                "kwh_peak": "" if peak is None else str(peak), "kwh_valley": "" if valley is None else str(valley),
                "amount": str(charge.total), "due_date": due.isoformat(), "paid_at": paid_at,
            })
        if spec.prepaid:
            balance = Decimal(str(round(rng.uniform(-30, 300) if spec.account_no not in ("5100000002",) else 36.5, 2)))
        else:
            balance = -unpaid_total if unpaid_total else Decimal(str(round(rng.uniform(0, 50), 2)))
        street = rng.choice(STREETS) if spec.area_type == "urban" and spec not in FIXED and rng.random() < 0.4 else None
        address = f"{spec.township}{street or spec.village}{rng.randint(1, 180)}号"
        accounts.append({
            "account_no": spec.account_no, "name": _name(rng), "phone": _phone(rng, phones), "address": address,
            "township": spec.township, "area_type": spec.area_type, "category": spec.category,
            "tariff": spec.tariff, "prepaid": "true" if spec.prepaid else "false", "balance": str(balance),
        })

    local_now = to_local(now).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    outages = []
    plan = [(-3, 8), (-30, 6), (2, 9), (5, 8)]  # (hours from now to start, duration h)
    for index, (offset, hours) in enumerate(plan, start=1):
        township = names[(index * 5) % len(names)]
        villages = TOWNSHIPS[township][1]
        chosen = rng.sample(villages, k=min(2, len(villages))) if index % 2 else []
        start = local_now + timedelta(hours=offset)
        outages.append({
            "outage_id": f"JH{today:%Y%m}{index:03d}", "township": township, "villages": ";".join(chosen),
            "start": start.strftime("%Y-%m-%dT%H:%M"), "end": (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
            "reason": rng.choice(OUTAGE_REASONS),
        })

    for name, columns, rows in (("accounts.csv", ACCOUNT_COLUMNS, accounts), ("bills.csv", BILL_COLUMNS, bills),
                                ("planned_outages.csv", OUTAGE_COLUMNS, outages)):
        # names and phone numbers in clear: readable by the owner only, whatever the umask
        fd = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
    return {"accounts.csv": len(accounts), "bills.csv": len(bills), "planned_outages.csv": len(outages)}


#: The demo's field crews (班组): one per 供电所 area the demo accounts live in.
DEMO_CREWS = (("城关供电所抢修一班", "城关镇"), ("城关供电所抢修二班", "城关镇"), ("银坊供电所抢修班", "银坊镇"),
              ("走马驿供电所抢修班", "走马驿镇"), ("烟煤洞供电所抢修班", "烟煤洞乡"))


def seed_crews(s: Session) -> List[str]:
    """Add the demo crews that are missing (idempotent); their names."""
    added = []
    for name, township in DEMO_CREWS:
        if crews.by_name(s, name) is None:
            crews.add(s, name, "cli:seed-demo", township=township)
            added.append(name)
    return added
