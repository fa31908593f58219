"""Chinese text that code sends to people outside domain.yml responses — the one place for it.

Dialogue replies live in domain.yml (responses). This module holds what channels, senders and the
console send on their own (SMS texts, notices, console labels). Keep each message short enough for a
phone screen; SMS texts within one 70-character segment where possible.
"""

from __future__ import annotations

# --- verification and SMS
OTP_SMS = "【国网涞源县供电公司】您正在绑定户号{account_no}，验证码{code}，{minutes}分钟内有效。如非本人操作请忽略。"

# --- tickets
STATUS_LABELS = {
    "open": "已受理",
    "dispatched": "已派单",
    "on_site": "抢修人员已到达",
    "resolved": "已处理完毕",
    "closed": "已关闭",
    "cancelled": "已撤销",
}
TICKET_TYPE_LABELS = {
    "repair": "故障报修",
    "hazard": "隐患上报",
    "complaint": "投诉",
    "meter": "电能表校验",
    "business": "业务申请",
    "callback": "回电请求",
}

# --- sms (the SMS channel answers these itself, before Rasa; keep each within one 70-character segment)
SMS_OPTED_OUT = "【国网涞源县供电公司】您已退订本公司短信，今后不再向您发送。如需恢复，回复任意内容即可。"
SMS_MEDIA_PLACEHOLDER = "[彩信]"  # how a picture-only SMS appears in the transcript
