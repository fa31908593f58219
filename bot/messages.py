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
    "defect": "设备缺陷",
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
    # back office
    "bad_time": "时间格式不正确",
    "bad_crew": "请选择班组",
    "ticket_transition": "工单当前状态不能改为该状态",
    "ticket_merged": "该工单已并入{into}，请在该工单上操作",
    "ticket_crew": "该班组已停用",
    "ticket_merge": "这两张工单不能合并",
    "not_your_ticket": "只能修改您正在服务的客户的工单",
    "crew_name": "班组名称为1到40个字",
    "crew_exists": "已有同名班组",
    "account_not_found": "没有这个户号",
    "bad_inspection": "巡检记录填写不完整",
    "bad_photo": "只能上传图片（JPEG/PNG/GIF/WebP，10MB以内）",
}
CONSOLE_SOMEONE = "其他坐席"  # {owner} when the owner is unknown

# --- sms (the SMS channel answers these itself, before Rasa; keep each within one 70-character segment)
SMS_OPTED_OUT = "【国网涞源县供电公司】您已退订本公司短信，今后不再向您发送。如需恢复，回复任意内容即可。"
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

# --- notices (bot.domain.notices): what the worker sends without being asked. {when}/{eta}: local time as
# "12月3日 08:00"; {place}: township and villages. Keep within one SMS segment where possible.
NOTICE_SIGNATURE = "【国网涞源县供电公司】"
NOTICE_TEXTS = {
    "planned": "计划停电通知：{place}将于{start}至{end}停电，原因：{reason}。请提前做好准备。",
    "planned_short": "计划停电通知（临时安排，未能提前{days}天告知，敬请谅解）：{place}将于{start}至{end}停电，原因：{reason}。",
    "planned_reminder": "停电提醒：明天{start}至{end}，{place}计划停电（{reason}）。请提前做好准备。",
    "planned_changed": "停电安排变更：{place}的计划停电改为{start}至{end}，原因：{reason}。",
    "planned_cancelled": "停电取消：原定{start}{place}的计划停电已取消，届时正常供电。",
    "fault": "故障停电通知：{place}因{reason}停电，抢修人员正在处理，预计{eta}前恢复供电。",
    "fault_changed": "故障停电更新：{place}预计恢复供电时间改为{eta}，原因：{reason}。",
    "fault_restored": "恢复供电：{place}的故障停电已于{at}恢复供电。如您家仍没有电，请回复“还没来电”。",
    "planned_restored": "恢复供电：{place}的计划停电已于{at}结束，恢复供电。",
    "ticket_dispatched": "您的工单{ticket_no}已派单，{crew}正在赶来，预计{eta}前到达。",
    "ticket_dispatched_no_eta": "您的工单{ticket_no}已派单，{crew}正在赶来。",
    "ticket_on_site": "您的工单{ticket_no}：抢修人员已到达现场，正在处理。",
    "ticket_resolved": "您的工单{ticket_no}已处理完毕。如果还没来电，直接回复'还没来电'。请为本次服务打分：回复1到5的数字（5分为非常满意）。",
    "ticket_reopened": "您的工单{ticket_no}已重新打开，我们会尽快再派人处理。",
    "bill_due": "电费提醒：户号{account_no}{period}电费{amount}元，将于{due}到期，请及时缴纳。",
    "bill_overdue": "欠费提醒：户号{account_no}{period}电费{amount}元已逾期，从今天起每天加收违约金，请尽快缴纳。",
    "prepaid_low": "余额提醒：户号{account_no}余额{balance}元，预计还可用{days}天，请及时充值，以免停电。",
}
NOTICE_CREW = "抢修班组“{name}”"  # {crew} in the ticket notices
NOTICE_CREW_UNKNOWN = "抢修人员"
NOTICE_WHOLE_TOWNSHIP = "{township}"  # the place of an outage without villages
# the topics a customer can turn off, as named in domain.yml's utter_notice_off/on ({topic})
NOTICE_TOPIC_LABELS = {"outage": "停电通知", "bill": "电费提醒"}
# the on-duty supervisor's SMS when a ticket passes its deadline (ESCALATION_SMS_TO)
NOTICE_ESCALATED = "工单超时提醒：{ticket_no}（{type}，{township}）已超过承诺时限，请督办。"
# the ticket history note when a customer's "还没来电" reopens a resolved repair ticket
NOTICE_REOPEN_NOTE = "客户回复“还没来电”，工单重新打开"

# --- escalation (SMS to the on-duty supervisor when a ticket goes on the escalation list; one segment)
ESCALATION_SMS = "【工单超时】{ticket_no}（{type}，{township}）已超过时限{deadline}仍未到场/处理，请督办。"
