"""The known records integration and conversation tests run against (all values made up)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy.orm import Session

from bot.clock import local_today, utcnow
from tests.factories import make_account, make_bill, make_outage

# account_no: (name, phone, address, township, area_type, category, tariff, prepaid, balance)
ACCOUNTS = {
    "5100000101": ("张建国", "13900001111", "城关镇东关村12号", "城关镇", "urban", "residential", "tiered", False, "-99.30"),
    "5100000102": ("李秀英", "13900002222", "烟煤洞乡大安村3号", "烟煤洞乡", "remote", "residential", "tiered", True, "23.40"),
    "5100000103": ("王德明", "13900003333", "银坊镇北庄村8号", "银坊镇", "rural", "residential", "tou", False, "0"),
    "5100000104": ("赵春生", "13900004444", "城关镇西关村5号", "城关镇", "urban", "residential", "tiered", False, "0"),
    "5100000105": ("刘记饭店", "13900005555", "走马驿镇驿南村1号", "走马驿镇", "rural", "commercial", "tiered", False, "0"),
}
USAGE = [150, 160, 140, 130, 120, 150, 210, 230, 160, 140, 150, 190]  # oldest → latest month


def _period(today, back: int) -> str:
    index = today.year * 12 + today.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def seed(s: Session, now: Optional[datetime] = None) -> None:
    now = now or utcnow()
    today = local_today(now)
    for number, (name, phone, address, township, area, category, tariff, prepaid, balance) in ACCOUNTS.items():
        account = make_account(s, number, name, phone, township, address, area, category, tariff, prepaid, balance)
        for back, kwh in zip(range(12, 0, -1), USAGE, strict=True):
            unpaid = number == "5100000101" and back == 1
            make_bill(s, account, _period(today, back), kwh if category == "residential" else kwh * 5, paid=not unpaid)
    make_outage(s, "杨家庄镇", now - timedelta(hours=2), now + timedelta(hours=4), villages="兴文村", outage_id="JH-T-1",
                reason="10kV线路检修")
    make_outage(s, "王安镇", now + timedelta(days=2), now + timedelta(days=2, hours=8), outage_id="JH-T-2",
                reason="配电变压器更换")
