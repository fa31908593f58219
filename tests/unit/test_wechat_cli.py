"""`bot wechat menu push`: the menu file becomes the account's menu at (the fake) WeChat."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.config import ROOT
from tests.fakes.wechat import FakeWeChatApi

BOT = str(ROOT / ".venv" / "bin" / "bot")


@pytest.fixture
def fake():
    api = FakeWeChatApi()
    yield api
    api.stop()


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([BOT, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_menu_push_creates_the_menu(fake):
    done = run("wechat", "menu", "push", env=fake.bot_env())
    assert done.returncode == 0, done.stdout + done.stderr
    [menu] = fake.menus
    assert [b["name"] for b in menu["button"]] == ["查电费", "停电报修", "更多服务"]
    assert {"type": "click", "name": "转人工客服", "key": "REQUEST_HUMAN"} in menu["button"][2]["sub_button"]
    assert fake.token_requests == 1


def test_menu_push_reports_wechat_refusing(fake):
    fake.fail_next(40018, path="/cgi-bin/menu/create")
    done = run("wechat", "menu", "push", env=fake.bot_env())
    assert done.returncode == 1 and "40018" in done.stdout
    assert fake.menus == []


def test_dry_run_prints_the_body_without_calling_wechat(fake):
    done = run("wechat", "menu", "push", "--dry-run", env=fake.bot_env())
    assert done.returncode == 0
    assert json.loads(done.stdout)["button"][1]["name"] == "停电报修"
    assert fake.token_requests == 0


def test_a_broken_menu_file_is_refused(fake, tmp_path):
    broken = tmp_path / "menu.yml"
    broken.write_text("buttons:\n  - {name: 查电费查电费查电费, key: K, intent: query_bill}\n", encoding="utf-8")
    done = run("wechat", "menu", "push", env={**fake.bot_env(), "WECHAT_MENU_FILE": str(broken)})
    assert done.returncode == 1 and "16 bytes" in done.stdout
    assert fake.token_requests == 0
