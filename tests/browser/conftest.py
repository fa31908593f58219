"""Browser-test fixtures: the background worker beside the running bot, for the flows where the
customer's simulator must show the notices it pushes."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.harness import BotProcesses, WorkerProcess, start_worker


@pytest.fixture(scope="module")
def notice_worker(bot: BotProcesses, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """``bot worker`` (Huey) against the session's bot: its database, its job queue, its fakes of WeChat and
    Twilio. Only for the module that asks (other tests of the session do not expect notices going out)."""
    worker = start_worker(bot, tmp_path_factory.mktemp("worker"))
    yield worker
    worker.stop()
