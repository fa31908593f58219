"""Every label the console's pages show, from :mod:`bot.messages` (the one source), as the JSON the
console loads once per page (``GET /console/api/labels``), and the server-side wording of audit entries
and delivery problems.

The console's JavaScript holds codes only (``intent``, ``ticket_status``, UI keys); this module maps
them to the Chinese text agents read.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from bot import messages


def all_labels() -> Dict[str, Any]:
    """The label groups, each ``{code: text}``; ``ui`` holds the page's own words by key (with
    ``{name}`` placeholders the page fills in)."""
    return {
        "intent": messages.CONSOLE_INTENT_LABELS,
        "handoff_status": messages.CONSOLE_HANDOFF_STATUS_LABELS,
        "reason": messages.CONSOLE_REASON_LABELS,
        "channel": messages.CONSOLE_CHANNEL_LABELS,
        "role": messages.CONSOLE_ROLE_LABELS,
        "author": messages.CONSOLE_AUTHOR_LABELS,
        "ticket_type": messages.TICKET_TYPE_LABELS,
        "ticket_status": messages.STATUS_LABELS,
        "pii_field": messages.CONSOLE_PII_FIELD_LABELS,
        "staff_state": messages.CONSOLE_STAFF_STATE_LABELS,
        "metrics_period": messages.CONSOLE_METRICS_PERIODS,
        "audit_action": messages.CONSOLE_AUDIT_ACTION_LABELS,
        "audit_outcome": messages.CONSOLE_AUDIT_OUTCOME_LABELS,
        "delivery": messages.CONSOLE_DELIVERY_LABELS,
        "errors": messages.CONSOLE_ERRORS,
        "skill_group": messages.CONSOLE_SKILL_GROUP_LABELS,
        "presence": messages.CONSOLE_PRESENCE_LABELS,
        "note_kind": messages.CONSOLE_NOTE_KIND_LABELS,
        "ui": messages.CONSOLE_UI,
        "equipment_kind": messages.EQUIPMENT_KIND_LABELS,
        "severity": messages.SEVERITY_LABELS,
        "ticket_note_kind": messages.NOTE_KIND_LABELS,
    }


def _value(key: str, value: Any) -> str:
    """A detail value in words: codes the console knows get their label."""
    text = str(value)
    if key == "reason" and text in messages.CONSOLE_REASON_LABELS:
        return messages.CONSOLE_REASON_LABELS[text]
    if key == "field" and text in messages.CONSOLE_PII_FIELD_LABELS:
        return messages.CONSOLE_PII_FIELD_LABELS[text]
    if key in ("before", "after") and text in messages.STATUS_LABELS:
        return messages.STATUS_LABELS[text]
    if key == "kind" and text in messages.CONSOLE_SEARCH_KIND_LABELS:
        return messages.CONSOLE_SEARCH_KIND_LABELS[text]
    if key == "role" and text in messages.CONSOLE_ROLE_LABELS:
        return messages.CONSOLE_ROLE_LABELS[text]
    if key == "code" and text in messages.CONSOLE_ERRORS:
        return messages.CONSOLE_ERRORS[text].replace("{owner}", messages.CONSOLE_SOMEONE)
    if key == "delivery":
        channel, _, status = text.partition("/")
        return "".join((messages.CONSOLE_CHANNEL_LABELS.get(channel, channel),
                        messages.CONSOLE_DELIVERY_LABELS.get(status, status)))
    if isinstance(value, bool):
        return messages.CONSOLE_UI["yes"] if value else messages.CONSOLE_UI["no"]
    return text


def audit_detail_lines(detail: Mapping[str, Any] | None) -> List[str]:
    """An audit entry's details as lines ``原因：客户要求回电核实`` (never JSON)."""
    lines = []
    for key, value in (detail or {}).items():
        if value is None or value == "":
            continue
        name = messages.CONSOLE_AUDIT_DETAIL_LABELS.get(key, key)
        lines.append(f"{name}：{_value(key, value)}")
    return lines


def audit_actor(actor: str) -> str:
    """``staff:zhang`` → ``坐席 zhang``; ``customer:wechat:o…`` → ``客户 wechat:o…``; ``system`` → ``系统``."""
    kind, _, who = actor.partition(":")
    name = messages.CONSOLE_AUDIT_ACTOR_LABELS.get(kind)
    if name is None:
        return actor
    return f"{name} {who}".strip()


def audit_target(target_type: str, target_id: str) -> str:
    return f"{messages.CONSOLE_AUDIT_TARGET_LABELS.get(target_type, target_type)} {target_id}".strip()


def delivery_problem(channel: str, status: str) -> str | None:
    """What the agent is told when a reply did not reach the customer; None when it did (or may yet)."""
    if status not in ("undeliverable", "failed", "undelivered"):
        return None
    wording = messages.CONSOLE_DELIVERY_LABELS.get(status, messages.CONSOLE_DELIVERY_LABELS["failed"])
    if channel in messages.CONSOLE_CHANNEL_LABELS:
        return messages.CONSOLE_DELIVERY_PROBLEM.format(channel=messages.CONSOLE_CHANNEL_LABELS[channel], status=wording)
    return messages.CONSOLE_DELIVERY_PROBLEM_NO_CHANNEL.format(status=wording)
