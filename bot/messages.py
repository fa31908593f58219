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
    "privacy": "个人信息请求",
}

# --- personal-data requests typed in the chat (`我的信息`, `删除我的个人信息`): the channel answers them itself
# (bot.channels.common.answer_personal_data_request) and files a ticket for the supervisors. {days}: the
# deadline in service_rules.yml (sla.personal_data_request_days); {deadline}: its local date as "12月31日".
PERSONAL_DATA_REPLIES = {
    "view": "已收到您查询个人信息的申请，工单号{ticket_no}。我们会在{days}天内（{deadline}前）核实您的身份后，"
            "把本服务保存的您的个人信息（绑定的户号、联系方式、咨询记录、工单等）提供给您。",
    "delete": "已收到您删除个人信息的申请，工单号{ticket_no}。我们会在{days}天内（{deadline}前）核实后，删除本服务"
              "保存的您的个人信息（咨询记录、联系方式等）并解除全部户号绑定，之后再查询需重新绑定户号。户号的用电档案"
              "由营销系统依法保存，不在删除范围内。",
}
PERSONAL_DATA_ALREADY = "您{date}已提交过该申请（工单号{ticket_no}），我们会在{deadline}前办理完毕，请耐心等候。"
# the ticket's description: what the customer asked and the command that carries it out
PERSONAL_DATA_TICKET = {
    "view": "客户通过{channel}申请查看本服务保存的其个人信息（个人信息保护法第45条），须于{deadline}前办理：核实身份后"
            "运行 bot export-customer --sender {sender_id} --out <文件>，将结果经已验证的渠道交给客户，再办结本工单。",
    "delete": "客户通过{channel}申请删除其个人信息并解除全部户号绑定（个人信息保护法第47条），须于{deadline}前办理："
              "核实身份后运行 bot erase-customer --sender {sender_id} --confirm，再办结本工单。",
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
    "bad_presence": "坐席状态不正确",
    "bad_note": "备注类型不正确",
    "canned_empty": "标题和内容都不能为空",
    "canned_too_long": "标题不能超过40字，内容不能超过500字",
    "canned_duplicate": "已有同名的常用语",
    "canned_not_found": "没有这条常用语",
    "bad_search": "请输入工单号、户号或手机号（如139****5678，或后4位）",
    "note_required": "转接时请写明转接说明",
    "bad_target": "请选择要转给的坐席或业务组",
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
    "not_closed": "只能抽检已结束的会话",
    "already_scored": "该会话已质检过",
    "bad_quality_items": "请对每个质检项给出合格或不合格",
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

# --- a turn the bot could not complete (a part of the system failed): the message waits for an agent
BOT_FAILURE_KEPT = "抱歉，系统暂时出现故障，您的消息已记录并转交人工客服，我们会尽快回复您。紧急情况请拨打95598供电服务热线。"

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
    "ticket_resolved_other": "您的{type}工单{ticket_no}已办结。请为本次服务打分：回复1到5的数字（5分为非常满意）。",
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
# how the simulator marks a notice the worker pushed (shown above the message)
SIMULATOR_NOTICE_LABEL = "服务通知"
# --- console labels: every word the agent console shows, served by GET /console/api/labels (the
# console's JavaScript holds no Chinese text). Codes are the records' own values.
CONSOLE_INTENT_LABELS = {  # every intent of domain.yml (tests/unit/test_console_labels.py checks)
    "greet": "问候",
    "goodbye": "再见",
    "thank": "感谢",
    "affirm": "肯定",
    "deny": "否定",
    "inform": "提供信息",
    "out_of_scope": "业务范围外",
    "request_human": "转人工",
    "query_bill": "查电费",
    "query_balance": "查余额/欠费",
    "query_usage": "查电量",
    "payment_methods": "缴费方式",
    "report_outage": "停电报修",
    "query_repair_progress": "报修进度",
    "query_planned_outage": "计划停电",
    "query_tariff": "电价",
    "bind_account": "绑定户号",
    "report_hazard": "隐患上报",
    "business_application": "业务办理",
    "complaint": "投诉",
    "meter_issue": "电表问题",
    "rate": "服务评价",
    "subscribe": "关注公众号",
    "share_location": "发送位置",
    "share_image": "发送图片",
    "voice_unrecognized": "语音未识别",
    "unsupported_message": "暂不支持的消息",
    "nlu_fallback": "未能理解",
}
CONSOLE_HANDOFF_STATUS_LABELS = {"waiting": "等待中", "active": "人工服务中", "closed": "已结束"}
CONSOLE_REASON_LABELS = {"asked": "客户要求转人工", "misunderstood": "连续两次未能理解", "complaint": "投诉",
                         "bot_failure": "系统故障，待人工处理"}
CONSOLE_CHANNEL_LABELS = {"wechat": "微信", "sms": "短信", "rest": "测试接口", "console": "坐席",
                          "demo_sms": "演示短信", "simulator": "微信模拟器"}
CONSOLE_ROLE_LABELS = {"agent": "坐席", "supervisor": "班长", "admin": "管理员"}
CONSOLE_AUTHOR_LABELS = {"customer": "客户", "bot": "机器人", "system": "系统通知", "agent": "坐席"}
CONSOLE_PII_FIELD_LABELS = {"name": "户名", "phone": "电话"}
CONSOLE_STAFF_STATE_LABELS = {"active": "正常", "locked": "已锁定", "disabled": "已停用"}
CONSOLE_METRICS_PERIODS = {"1": "最近 24 小时", "7": "最近 7 天", "30": "最近 30 天", "90": "最近 90 天"}
CONSOLE_AUDIT_ACTION_LABELS = {  # every action code written to the audit log
    "account.access": "查询户号",
    "binding.start": "开始绑定户号",
    "binding.code_sent": "发送验证码",
    "binding.verify": "核对验证码",
    "binding.bound": "绑定户号",
    "binding.unbound": "解绑户号",
    "console.denied": "坐席操作被拒绝",
    "conversation.take": "接入会话",
    "conversation.reply": "坐席回复",
    "conversation.handback": "交还机器人",
    "conversation.close": "结束会话",
    "data.import": "导入数据",
    "handoff.request": "客户转人工",
    "pii.reveal": "查看个人信息",
    "sms.opt_in": "恢复接收短信",
    "sms.opt_out": "退订短信",
    "staff.add": "新增人员",
    "staff.login": "登录工作台",
    "staff.enable": "启用人员",
    "staff.disable": "停用人员",
    "staff.reset_password": "重置密码",
    "ticket.access": "查询工单",
    "staff.presence": "坐席状态变更",
    "conversation.note": "内部备注",
    "conversation.whisper": "班长提示",
    "conversation.transfer": "转接会话",
    "ticket.create": "新建工单",
    "ticket.description": "更正工单内容",
    "ticket.attach": "工单添加附件",
    "ticket.status": "工单状态变更",
    "conversation.read": "查阅已结束会话",
    "ticket.callback_phone": "登记回电号码",
    "quality.sample": "抽取质检样本",
    "quality.score": "质检评分",
    "conversation.search": "搜索历史会话",
    "customer.export": "导出客户个人信息",
    "customer.erase": "删除客户个人信息",
    "data.prune": "清理过期数据",
    "pii.rotate_key": "轮换个人信息密钥",
    "customer.data_request": "客户申请查看/删除个人信息",
    "canned_reply.add": "新增常用语",
    "canned_reply.edit": "修改常用语",
    "canned_reply.delete": "删除常用语",
    "canned_reply.seed": "导入常用语",
}
CONSOLE_AUDIT_OUTCOME_LABELS = {"ok": "成功", "denied": "拒绝", "error": "出错"}
CONSOLE_AUDIT_TARGET_LABELS = {"account": "户号", "conversation": "会话", "staff": "人员", "ticket": "工单",
                               "contact": "客户", "console": "工作台", "file": "文件", "canned_reply": "常用语"}
CONSOLE_AUDIT_ACTOR_LABELS = {"customer": "客户", "staff": "坐席", "system": "系统"}
CONSOLE_AUDIT_DETAIL_LABELS = {  # detail keys as the audit page names them; unknown keys show as they are
    "reason": "原因",
    "field": "字段",
    "conversation": "会话",
    "code": "原因代码",
    "role": "角色",
    "kind": "类型",
    "before": "原状态",
    "after": "新状态",
    "chars": "字数",
    "delivery": "送达情况",
    "transcript_id": "消息编号",
    "method": "方式",
    "purpose": "用途",
    "rows": "行数",
    "inserted": "新增",
    "force": "强制接管",
    "previous_owner": "原坐席",
    "forced": "强制接管",
    "presence": "状态",
    "auto_assign": "自动分配",
    "to": "转给",
    "handoff": "会话编号",
    "score": "质检得分",
    "agent": "坐席",
    "days": "天数",
    "drawn": "抽取数量",
    "hits": "结果数",
    "title": "标题",
}
CONSOLE_SEARCH_KIND_LABELS = {"ticket_no": "工单号", "account_no": "户号", "masked_phone": "手机号",
                              "phone_tail": "手机号后4位"}
CONSOLE_DELIVERY_LABELS = {  # how a reply's delivery reads for the agent (channel/status of the outbox)
    "delivered": "已送达",
    "sent": "已发出",
    "queued": "排队发送",
    "undelivered": "未送达",
    "undeliverable": "无法送达",
    "failed": "发送失败",
    "demo": "演示环境已送达",
}
CONSOLE_DELIVERY_PROBLEM = "消息已记录，但未能通过{channel}送达客户：{status}"
CONSOLE_DELIVERY_PROBLEM_NO_CHANNEL = "消息已记录，但未能送达客户：{status}（该渠道无法主动发送）"
CANNED_SALUTATION = "{family}先生/女士"  # {称呼} in a canned reply: the family name of the bound account's holder
CONSOLE_UI = {
    "unread_badge": "{n}条未读",
    "title_unread": "（{n}条新消息）坐席工作台",
    "title_waiting_unread": "（{n}人等待·{m}条新消息）坐席工作台",
    "new_message": "{customer}发来新消息",
    "tab_canned": "常用语",
    "canned_title": "标题",
    "canned_text": "内容（可用变量：{称呼}、{工单号}、{户号尾号}）",
    "canned_add": "新增常用语",
    "canned_edit": "修改",
    "canned_save": "保存",
    "canned_delete": "删除",
    "canned_confirm_delete": "删除常用语“{title}”？",
    "canned_saved": "常用语已保存",
    "canned_deleted": "常用语已删除",
    "canned_missing": "以下内容无法自动填写，请手动补充：{names}",
    "search_placeholder": "工单号 / 户号 / 手机号（139****5678 或后4位）",
    "search_results": "搜索结果",
    "search_none": "没有找到您可查看的会话",
    "search_clear": "清除",
    "read_only": "只读查看",
    "page_title": "坐席工作台",
    "app_title": "国网涞源县供电公司 · 坐席工作台",
    "logout": "退出",
    "loading": "正在加载…",
    "none": "—",
    "none_word": "无",
    "yes": "是",
    "no": "否",
    "none_yet": "暂无",
    "list_sep": "、",
    "list_sep_comma": "，",
    "duration_s": "{s}秒",
    "duration_ms": "{m}分{s}秒",
    "seconds": "{n} 秒",
    "tab_conversations": "会话",
    "tab_metrics": "服务质量",
    "tab_audit": "审计日志",
    "tab_staff": "人员管理",
    "waiting_title": "等待接入",
    "live_all": "全部进行中的会话",
    "live_mine": "我的会话",
    "pick_conversation": "从左侧选择一个会话",
    "customer_of_channel": "{channel}用户",
    "owner_is": "坐席：{owner}",
    "waited_for": "已等待 {time}",
    "last_intent": "机器人最新理解：{intent}",
    "open": "查看",
    "take": "接入",
    "force_take": "强制接管",
    "taken_notice": "已接入，客户已收到接入提示",
    "forced_notice": "已接管该会话",
    "hand_back": "交还机器人",
    "close_and_rate": "结束并邀请评价",
    "handed_back": "已交还机器人",
    "closed_notice": "会话已结束，已邀请客户评价",
    "canned_pick": "常用语…",
    "reply_placeholder": "输入回复，Ctrl+Enter 发送",
    "send": "发送",
    "bound_accounts": "绑定户号",
    "no_accounts": "未绑定户号",
    "account_no_is": "户号 {account_no}",
    "prepaid": "费控",
    "postpaid": "后付费",
    "account_name": "户名：",
    "account_phone": "电话：",
    "account_address": "地址：{address}",
    "balance_is": "余额：{amount} 元",
    "days_left": "（约可用{days}天）",
    "arrears_is": "欠费：{amount} 元",
    "arrears_periods": "（{periods}）",
    "latest_bill_paid": "最新账单 {period}：{kwh} 度，{amount} 元，已缴",
    "latest_bill_unpaid": "最新账单 {period}：{kwh} 度，{amount} 元，未缴，{due_date} 到期",
    "open_tickets_are": "未完结工单：{tickets}",
    "tickets": "工单",
    "new_ticket": "新建工单",
    "no_account": "不关联户号",
    "ticket_text": "工单内容",
    "create_ticket": "创建工单",
    "ticket_created": "已创建工单 {ticket_no}",
    "ticket_updated": "工单 {ticket_no} 已更新",
    "reveal": "查看",
    "reveal_title": "查看完整信息",
    "reveal_what": "户号 {account_no} 的{field}",
    "reveal_reason": "原因（将记入审计日志）",
    "cancel": "取消",
    "audit_actor_hint": "操作人，如 staff:demo_agent",
    "audit_action_hint": "操作，如 pii.reveal",
    "search": "查询",
    "earlier": "更早的记录",
    "col_id": "#",
    "col_time": "时间",
    "col_actor": "操作人",
    "col_action": "操作",
    "col_target": "对象",
    "col_outcome": "结果",
    "col_detail": "详情",
    "staff_username": "用户名",
    "staff_display": "姓名（显示用）",
    "staff_add": "新增人员",
    "initial_password": "{username} 的初始密码：{password}（只显示这一次，请当面交给本人）",
    "confirm_disable": "停用 {username}？其登录会立即失效。",
    "confirm_reset": "为 {username} 重置密码？其登录会立即失效。",
    "disable": "停用",
    "enable": "启用",
    "reset_password": "重置密码",
    "col_username": "用户名",
    "col_name": "姓名",
    "col_role": "角色",
    "col_state": "状态",
    "col_actions": "操作",
    "metrics_period": "统计范围",
    "generated_at": "生成于 {at} UTC",
    "m_conversations": "会话数",
    "m_customer_messages": "{n} 条客户消息",
    "m_containment": "机器人独立解决率",
    "m_handed": "{n} 个会话转人工",
    "m_handoffs": "转人工",
    "m_wait": "等待接入（中位数 / 90%）",
    "m_waiting_now": "当前排队 {n}",
    "m_sla": "工单时限达成率",
    "m_sla_note": "达成 {met}，超时 {missed}，进行中 {pending}",
    "m_overdue": "当前超时未处理工单",
    "m_rating": "平均满意度",
    "m_rating_note": "{n} 次评价；机器人 {bot}，坐席 {agents}",
    "m_agents": "坐席",
    "m_tickets": "工单",
    "m_ratings": "满意度分布",
    "col_agent": "坐席",
    "col_taken": "接入",
    "col_closed": "已结束",
    "col_ratings": "评价数",
    "col_avg_rating": "平均评分",
    "col_type": "类型",
    "col_new": "新建",
    "col_score": "评分",
    "col_count": "次数",
    "score_n": "{n} 分",
    "agent_with_username": "{display_name}（{username}）",
    "purpose_intent": "客户来意：{intent}",
    "purpose_unknown": "未说明（直接要求人工）",
    "ended_title": "近24小时已结束",
    "new_waiting": "新客户等待接入：{customer}",
    "title_waiting": "（{n}人等待）坐席工作台",
    "save": "保存",
    "correct_text": "更正内容",
    "corrected_from": "{at} {actor} 更正，原为：{before}",
    "ticket_address": "地点：{address}",
    "location_is": "位置：{label}（{lat}, {lng}）",
    "photo": "现场照片",
    "photo_open": "查看现场照片",
    "photo_ref": "现场照片（编号 {ref}）",
    "presence_label": "我的状态",
    "auto_assign_label": "自动分配会话",
    "auto_assigned": "已为您自动分配会话：{customer}",
    "key_customer_tag": "重点关爱",
    "notes_title": "内部备注（客户看不到）",
    "note_placeholder": "写给同事的备注，不会发给客户",
    "add_note": "添加备注",
    "whisper": "提示坐席",
    "transfer_title": "转接",
    "transfer_to_agent": "转给坐席…",
    "transfer_to_group": "或转给业务组…",
    "transfer_note": "转接说明（接手的坐席会看到）",
    "transfer": "转接",
    "transferred": "会话已转接",
    "agent_choice": "{display_name}（{presence}，{load}/{max_chats}）",
    "key_customer_banner": "重点关爱客户：{reason}。请耐心、放慢语速，必要时主动回电。",
    "tab_wall": "实时监控",
    "wall_targets": "目标：等待不超过 {wait} 秒，首次响应不超过 {first} 秒",
    "col_wait": "等待时长",
    "col_first_response": "首次响应",
    "responding": "未响应 {n} 秒",
    "open_readonly": "查看",
    "takeover": "强制接管",
    "whisper_placeholder": "提示坐席（客户看不到）",
    "whispered": "已提示坐席",
    "taken_over": "已接管该会话",
    "wall_empty": "当前没有等待或进行中的会话",
    "col_first_response_p50": "首次响应中位数",
    "col_handle_p50": "处理时长中位数",
    "col_quality": "质检平均分",
    "quality_n": "{score} 分（{n} 次）",
    "tab_quality": "质量抽检",
    "quality_draw": "抽取样本",
    "quality_all_agents": "全部坐席",
    "quality_size": "数量",
    "quality_pass": "合格",
    "quality_fail": "不合格",
    "quality_comment": "说明",
    "quality_save": "保存评分",
    "quality_saved": "质检评分已保存：{score} 分",
    "quality_none": "该期间没有待质检的已结束会话",
    "quality_recent": "最近的质检",
    "col_conversation": "会话",
    "col_closed_at": "结束时间",
    "col_status": "状态",
}
CONSOLE_SKILL_GROUP_LABELS = {"billing": "电费业务组", "repair": "故障报修组", "complaints": "投诉处理组",
                              "business": "业扩报装组", "senior": "重点关爱组"}
CONSOLE_PRESENCE_LABELS = {"online": "在线", "busy": "忙碌", "away": "离开"}
CONSOLE_NOTE_KIND_LABELS = {"note": "内部备注", "whisper": "班长提示", "transfer": "转接说明"}
CONSOLE_CUSTOMER_BOUND = "{name} · 户号尾号{tail}"  # how the queue names a customer with a bound account
CONSOLE_CUSTOMER_SMS = "短信客户 {phone}"  # an SMS customer without a bound account (masked phone)
CONSOLE_CUSTOMER_UNBOUND = "{channel}客户（未绑定户号，{since}起咨询）"  # anyone else

# --- back office (issue 12): the dispatch queue, ticket page, crews, inspections — labels for the console
CONSOLE_ROLE_LABELS["dispatcher"] = "调度员"
CONSOLE_AUDIT_ACTION_LABELS = {**CONSOLE_AUDIT_ACTION_LABELS,
    "ticket.assign": "工单指派班组",
    "ticket.note": "工单内部备注",
    "ticket.correct": "更正工单描述",
    "ticket.urge": "客户催办",
    "ticket.merge": "合并重复工单",
    "ticket.view": "查看工单",
    "crew.add": "新增班组",
    "crew.update": "修改班组",
    "account.key_customer": "设置重点关爱客户",
    "media.view": "查看工单照片",
    "api.unauthorized": "接口调用未授权",
}
CONSOLE_AUDIT_TARGET_LABELS = {**CONSOLE_AUDIT_TARGET_LABELS, "crew": "班组", "api": "接口", "outage": "停电"}
CONSOLE_AUDIT_DETAIL_LABELS = {**CONSOLE_AUDIT_DETAIL_LABELS, "crew": "班组", "eta": "预计到达", "into": "并入", "flagged": "重点关爱",
                                    "count": "催办次数", "note_id": "备注编号", "attachment_id": "附件编号"}
EQUIPMENT_KIND_LABELS = {"line": "线路", "transformer_area": "台区", "pole": "杆号", "other": "其他"}
SEVERITY_LABELS = {"general": "一般", "serious": "严重", "critical": "危急"}
NOTE_KIND_LABELS = {"note": "备注", "correction": "原描述", "urge": "客户催办", "at_risk": "即将超时",
                    "escalated": "已超时督办", "merged": "并入的工单"}
CONSOLE_UI = {**CONSOLE_UI,
    "tab_dispatch": "工单调度",
    "tab_crews": "班组",
    "tab_inspection": "设备巡检",
    "filter_any_type": "全部类型",
    "filter_any_status": "全部状态",
    "filter_any_township": "全部乡镇",
    "filter_any_crew": "全部班组",
    "filter_overdue": "只看超时",
    "col_ticket": "工单",
    "col_type": "类型",
    "col_status": "状态",
    "col_place": "地点",
    "col_crew": "班组",
    "col_sla": "时限",
    "col_urges": "催办",
    "sla_left": "剩余{time}",
    "sla_overdue": "已超时{time}",
    "sla_kept": "已到场/已处理",
    "key_customer": "重点关爱",
    "flagged": "即将超时",
    "escalated": "超时督办",
    "ticket_none": "没有待处理的工单",
    "ticket_choose": "请在左侧选择工单",
    "ticket_history": "处理记录",
    "ticket_notes": "内部备注",
    "ticket_photos": "照片",
    "ticket_contact": "联系人",
    "ticket_callback": "回电号码",
    "ticket_account": "户号",
    "ticket_place": "地点",
    "ticket_description": "描述",
    "ticket_eta": "预计到达",
    "ticket_merged_into": "已并入{ticket_no}",
    "ticket_inspection": "巡检记录",
    "action_status": "更改状态",
    "action_assign": "指派班组",
    "action_merge": "并入工单",
    "action_note": "添加备注",
    "action_correct": "更正描述",
    "action_done": "已保存",
    "status_note": "说明（可选）",
    "merge_into": "并入的工单号",
    "key_customer_set": "设为重点关爱",
    "key_customer_clear": "取消重点关爱",
    "key_customer_reason": "原因（如独居老人、医疗设备用电）",
    "crew_name": "班组名称",
    "crew_township": "所属乡镇",
    "crew_add": "新增班组",
    "crew_disable": "停用",
    "crew_enable": "启用",
    "crew_active": "在用",
    "crew_inactive": "已停用",
    "inspection_equipment": "设备",
    "inspection_ref": "线路名/台区名/杆号或说明",
    "inspection_gps": "使用当前位置",
    "inspection_gps_done": "已定位 {lat}, {lng}",
    "inspection_gps_failed": "无法获取位置，请填写乡镇和村",
    "inspection_township": "乡镇",
    "inspection_village": "村",
    "inspection_readings": "读数（每行：名称=数值）",
    "inspection_photo": "照片",
    "inspection_severity": "缺陷等级",
    "inspection_description": "情况说明",
    "inspection_submit": "提交并生成缺陷工单",
    "inspection_created": "已生成缺陷工单{ticket_no}",
}
# labels of what the notices branch added (its intents and outage audit actions), for the console
CONSOLE_INTENT_LABELS = {**CONSOLE_INTENT_LABELS, "notice_off": "退订通知", "notice_on": "恢复通知", "power_not_restored": "还没来电"}
CONSOLE_AUDIT_ACTION_LABELS = {**CONSOLE_AUDIT_ACTION_LABELS, "outage.register": "登记停电", "outage.update": "变更停电",
                                    "outage.cancel": "取消停电", "outage.restored": "停电恢复送电"}
# how the console names the transcript author of a notice the worker pushed (bot.domain.notices)
CONSOLE_AUTHOR_LABELS = {**CONSOLE_AUTHOR_LABELS, "notice": "服务通知"}
