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

# --- console (sent to the customer when an agent takes over, hands back or closes the conversation)
CONSOLE_TAKEOVER = "您好，人工客服已为您接入，请问有什么可以帮您？"
CONSOLE_HANDBACK = "人工服务已结束，接下来由智能客服继续为您服务。如需再次转人工，请回复“转人工”。"
CONSOLE_RATING_PROMPT = "本次人工服务已结束，感谢您的耐心。请为本次服务打分：回复1到5的数字（5分为非常满意）。"
# what the console tells staff when it refuses a request, by error code ({owner}: who has the conversation)
CONSOLE_ERRORS = {
    "signed_out": "登录已失效，请重新登录",
    "csrf": "请求校验失败，请刷新页面后重试",
    "forbidden": "没有执行此操作的权限",
    "bad_json": "请求格式不正确",
    "bad_query": "参数不正确",
    "bot_not_ready": "机器人尚未就绪，请稍后重试",
    "not_found": "会话不存在",
    "taken": "该会话已由{owner}接管",
    "not_owner": "该会话由{owner}负责，您不能操作",
    "not_taken": "请先接入该会话",
    "closed": "该会话已结束",
    "empty": "内容不能为空",
    "too_long": "回复不能超过{limit}字",
    "bad_type": "工单类型不正确",
    "bad_status": "工单状态不正确",
    "not_bound": "该户号未绑定到此客户",
    "ticket_not_found": "该客户没有这张工单",
    "bad_field": "只能查看姓名或电话中的一项",
    "reason_required": "请说明查看原因",
    "account_required": "请选择户号",
    "no_such_staff": "没有这个用户",
    "self": "不能停用自己的账号",
    "login_throttled": "尝试次数过多，请稍后再试",
    "login_expired": "页面已过期，请重新登录",
    "login_failed": "用户名或密码错误",
}
CONSOLE_SOMEONE = "其他坐席"  # {owner} when the owner is unknown

# --- sms (the SMS channel answers these itself, before Rasa; keep each within one 70-character segment)
SMS_OPTED_OUT = "【国网涞源县供电公司】您已退订本公司短信，今后不再向您发送。如需恢复，回复“订阅”即可。"
SMS_OPTED_IN = "【国网涞源县供电公司】您已重新订阅本公司短信通知。回复“退订”可随时取消。"
SMS_MEDIA_PLACEHOLDER = "[彩信]"  # how a picture-only SMS appears in the transcript

# --- wechat (what the WeChat channel answers itself, without Rasa, and how non-text messages appear in
# the transcript agents read)
WECHAT_EMPTY_TEXT = "请用文字告诉我您的问题，比如“查电费”“家里停电了”。"
WECHAT_MENU_UNAVAILABLE = "抱歉，这个菜单暂时不可用。请直接用文字告诉我您的问题，比如“查电费”“家里停电了”。"
WECHAT_BOT_ERROR = "抱歉，系统暂时有点忙，请稍后再试。紧急情况请拨打95598供电服务热线。"
WECHAT_LABELS = {
    "voice": "[语音] {text}",
    "voice_unrecognized": "[语音，未能识别]",
    "location": "[位置] {label}",
    "image": "[图片]",
    "subscribe": "[关注公众号]",
    "unsubscribe": "[取消关注]",
    "click": "[菜单] {name}",
    "unsupported": "[暂不支持的消息：{kind}]",
}
