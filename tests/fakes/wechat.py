"""A local fake of the WeChat API (placeholder until the WeChat channel lands)."""

from __future__ import annotations

from typing import Dict, Iterator

import pytest


class FakeWeChatApi:
    def bot_env(self) -> Dict[str, str]:
        return {}


@pytest.fixture(scope="session")
def fake_wechat_api() -> Iterator[FakeWeChatApi]:
    yield FakeWeChatApi()
