"""Every word the console shows comes from the server (bot/messages.py through GET /console/api/labels):
the console's JavaScript holds codes and label keys, never Chinese text; every key and code it uses has
a label; the intent labels cover the whole domain; the vendored library is the pinned file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from bot import messages
from bot.console import canned, labels
from bot.console.permissions import ConsoleError

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "bot" / "console" / "static"
VENDOR = STATIC / "vendor"
CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31bf\u3400-\u4dbf\u4e00-\u9fff"
                 r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0002fa1f]")


def console_scripts() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*.js") if VENDOR not in p.parents)


def test_the_console_has_scripts_to_check():
    names = {p.relative_to(STATIC).as_posix() for p in console_scripts()}
    assert {"console.js", "api.js", "labels.js", "screens/conversations.js"} <= names


def test_no_chinese_character_in_the_consoles_javascript():
    found = []
    for path in console_scripts():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CJK.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == []


def test_the_cjk_check_catches_chinese_text_and_full_width_punctuation():
    assert CJK.search('t("x") + "已等待"') and CJK.search("a，b") and not CJK.search("plain ascii · —")


def test_every_ui_key_the_scripts_use_has_a_text():
    used = set()
    for path in console_scripts():
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", source))
        used |= set(re.findall(r"\bt\([^()]*\?\s*\"([a-z0-9_]+)\"\s*:\s*\"([a-z0-9_]+)\"", source) and
                    [k for pair in re.findall(r"\bt\([^()]*\?\s*\"([a-z0-9_]+)\"\s*:\s*\"([a-z0-9_]+)\"", source)
                     for k in pair])
        used |= set(re.findall(r"\"((?:col|m|tab|confirm|latest_bill)_[a-z0-9_]+)\"", source))
    assert used, "no keys found: the pattern no longer matches the scripts"
    assert sorted(used - set(messages.CONSOLE_UI)) == []


def test_every_label_group_the_scripts_use_is_served():
    served = labels.all_labels()
    used = set()
    for path in console_scripts():
        used |= set(re.findall(r"\b(?:label|choices)\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert used and sorted(used - set(served)) == []


def test_intent_labels_cover_every_intent_of_the_domain():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert sorted(set(domain["intents"]) - set(messages.CONSOLE_INTENT_LABELS)) == []


def test_ticket_labels_are_the_ones_customers_read():
    served = labels.all_labels()
    assert served["ticket_status"] is messages.STATUS_LABELS
    assert served["ticket_status"]["on_site"] == "抢修人员已到达"
    assert served["ticket_type"] is messages.TICKET_TYPE_LABELS


def test_every_audit_action_the_code_records_has_a_chinese_label():
    recorded = set()
    for folder in ("bot", "actions"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            recorded |= set(re.findall(r"audit\.record\(\s*[^,]+,\s*[^,]+,\s*f?\"([a-z_]+\.[a-z_]+)\"", source))
    recorded |= {"conversation.handback", "conversation.close", "staff.enable", "staff.disable"}  # computed names
    assert "pii.reveal" in recorded
    assert sorted(recorded - set(messages.CONSOLE_AUDIT_ACTION_LABELS)) == []


def test_audit_details_read_as_lines_in_chinese_not_json():
    lines = labels.audit_detail_lines({"field": "phone", "reason": "客户要求回电核实", "conversation": "wechat:o1"})
    assert lines == ["字段：电话", "原因：客户要求回电核实", "会话：wechat:o1"]
    assert labels.audit_detail_lines({"before": "open", "after": "on_site"}) == ["原状态：已受理", "新状态：抢修人员已到达"]
    assert labels.audit_actor("staff:zhang") == "坐席 zhang"


def test_the_vendored_library_is_the_pinned_file_named_in_its_readme():
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    for path in VENDOR.iterdir():
        if path.name == "README.md":
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"`{path.name}`" in readme and digest in readme, path.name
    module = (VENDOR / "htm-preact-standalone.module.js").read_text(encoding="utf-8")
    assert "eval(" not in module and "new Function" not in module  # runs under script-src 'self'


def test_canned_replies_speak_of_a_chat_not_a_phone_call():
    replies = canned.load(ROOT / "bot" / "console" / "canned_replies.yml")
    assert replies and not [r["title"] for r in replies if re.search("来电|致电|通话", r["text"])]


def test_every_console_error_message_can_be_built():
    """A stray brace in a message (``{"字段": 值}``) made the refusal itself fail with a 500."""
    for code in messages.CONSOLE_ERRORS:
        assert ConsoleError(400, code, limit=500, into="GD1", permission="x").message, code
