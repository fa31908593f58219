"""A local fake of the Twilio API (placeholder until the SMS channel lands)."""

from __future__ import annotations

from typing import Dict, Iterator

import pytest


class FakeTwilioApi:
    def bot_env(self) -> Dict[str, str]:
        return {}


@pytest.fixture(scope="session")
def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    yield FakeTwilioApi()
