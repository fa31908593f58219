"""Integration fixtures: a records database and the running bot, with fakes of external platforms."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from bot.db import dispose_engines, session_scope
from tests.conftest import _TMP
from tests.harness import BotProcesses, start_bot
from tests.integration.records import seed


@pytest.fixture(scope="session")
def records_db(sqlite_template) -> Iterator[str]:
    """A SQLite database with the known records, shared by the session's bot processes."""
    path = _TMP / f"records-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    with session_scope(url) as s:
        seed(s)
    dispose_engines()
    yield url


@pytest.fixture(scope="session")
def bot(records_db, fake_wechat_api, fake_twilio_api, tmp_path_factory) -> Iterator[BotProcesses]:
    """The bot as `make run` starts it, with WeChat and Twilio pointed at their local fakes."""
    env = {**fake_wechat_api.bot_env(), **fake_twilio_api.bot_env()}
    processes = start_bot(Path(tmp_path_factory.mktemp("bot")), records_db, env)
    yield processes
    processes.stop()
