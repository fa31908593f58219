"""Prometheus metrics of one process (Rasa server, action server or worker), served at ``GET /metrics``.

Every process behind the load balancer exposes its own; Prometheus scrapes each (Kubernetes: the pods'
``prometheus.io/*`` annotations in deploy/k8s) and sums across them. Names and labels:

| metric | type | labels | what |
|---|---|---|---|
| ``powerbot_messages_total`` | counter | channel | customer messages that reached the bot (a turn started) |
| ``powerbot_turn_seconds`` | histogram | channel | time from a message to the bot's answer (one turn), seconds |
| ``powerbot_turn_failures_total`` | counter | channel | turns the bot could not complete (kept for an agent) |
| ``powerbot_nlu_fallbacks_total`` | counter | – | messages the NLU did not understand (``nlu_fallback``), counted by the action server |
| ``powerbot_action_seconds`` | histogram | action | custom actions' run time in the action server, seconds |
| ``powerbot_handoffs`` | gauge | reason, status | hand-overs in the database (``status="waiting"`` is the console queue) |
| ``powerbot_outbound_total`` | counter | channel, result | messages sent to customers: passive replies and API/SMS sends by result |
| ``powerbot_wechat_token_refreshes_total`` | counter | result | WeChat access tokens fetched (``ok``/``error``) |
| ``powerbot_job_queue_backlog`` | gauge | queue | jobs waiting in the job queue (set by the worker) |

Counters count in this process since it started; the hand-over gauge is read from the database at each
scrape, so every process reports the same figure (take ``max``, not ``sum``).
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, List, Tuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

#: Turn latency buckets (seconds): WeChat's passive reply must come within 5 s.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 30.0)

MESSAGES = Counter("powerbot_messages", "Customer messages that reached the bot", ["channel"])
TURN_SECONDS = Histogram("powerbot_turn_seconds", "Time to answer one customer message, seconds", ["channel"],
                         buckets=TURN_BUCKETS)
TURN_FAILURES = Counter("powerbot_turn_failures", "Turns the bot could not complete (kept for an agent)",
                        ["channel"])
NLU_FALLBACKS = Counter("powerbot_nlu_fallbacks", "Messages the NLU did not understand (nlu_fallback)")
ACTION_SECONDS = Histogram("powerbot_action_seconds", "Custom actions' run time in the action server, seconds",
                           ["action"], buckets=TURN_BUCKETS)
OUTBOUND = Counter("powerbot_outbound", "Messages sent to customers, by channel and result", ["channel", "result"])
WECHAT_TOKEN_REFRESHES = Counter("powerbot_wechat_token_refreshes", "WeChat access tokens fetched", ["result"])
JOB_QUEUE_BACKLOG = Gauge("powerbot_job_queue_backlog", "Jobs waiting in the job queue", ["queue"])


class HandoffCollector(Collector):
    """``powerbot_handoffs{reason,status}`` read from the database at scrape time."""

    def __init__(self, count: Callable[[], Iterable[Tuple[str, str, int]]]) -> None:
        self._count = count

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("powerbot_handoffs", "Hand-overs in the database (waiting = the console queue)",
                                   labels=["reason", "status"])
        try:
            for reason, status, n in self._count():
                family.add_metric([reason, status], n)
        except Exception as exc:  # a scrape must not fail because the database is away
            logger.warning("hand-over figures unavailable for /metrics (%s)", type(exc).__name__)
        yield family


_registered: List[Collector] = []


def register_handoff_counts(count: Callable[[], Iterable[Tuple[str, str, int]]]) -> None:
    """Report hand-overs from ``count()`` (reason, status, n) in this process's /metrics (idempotent)."""
    if _registered:
        return
    collector = HandoffCollector(count)
    REGISTRY.register(collector)
    _registered.append(collector)


def serve(port: int) -> None:
    """Serve this process's /metrics on ``port`` from a background thread — for processes without a
    web server of their own (the job-queue worker)."""
    start_http_server(port)


def exposition() -> Tuple[bytes, str]:
    """This process's metrics in Prometheus' text format: (body, content type)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
