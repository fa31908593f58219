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
    "bad_presence": "坐席状态不正确",
    "bad_note": "备注类型不正确",
    "bad_search": "请输入工单号、户号或手机号（如139****5678，或后4位）",
    "note_required": "转接时请写明转接说明",
    "bad_target": "请选择要转给的坐席或业务组",
    "login_throttled": "尝试次数过多，请稍后再试",
    "login_expired": "页面已过期，请重新登录",
    "login_failed": "用户名或密码错误",
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

# --- a turn the bot could not complete (a part of the system failed): the message waits for an agent
BOT_FAILURE_KEPT = "抱歉，系统暂时出现故障，您的消息已记录并转交人工客服，我们会尽快回复您。紧急情况请拨打95598供电服务热线。"

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
    "conversation.read": "查看已结束会话",
    "conversation.search": "搜索历史会话",
    "ticket.callback_phone": "登记回电号码",
}
CONSOLE_AUDIT_OUTCOME_LABELS = {"ok": "成功", "denied": "拒绝", "error": "出错"}
CONSOLE_AUDIT_TARGET_LABELS = {"account": "户号", "conversation": "会话", "staff": "人员", "ticket": "工单",
                               "contact": "客户", "console": "工作台", "file": "文件"}
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
    "hits": "结果数",
    "handoff": "会话编号",
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
CONSOLE_UI = {
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
}
CONSOLE_SKILL_GROUP_LABELS = {"billing": "电费业务组", "repair": "故障报修组", "complaints": "投诉处理组",
                              "business": "业扩报装组", "senior": "重点关爱组"}
CONSOLE_PRESENCE_LABELS = {"online": "在线", "busy": "忙碌", "away": "离开"}
CONSOLE_NOTE_KIND_LABELS = {"note": "内部备注", "whisper": "班长提示", "transfer": "转接说明"}
CONSOLE_CUSTOMER_BOUND = "{name} · 户号尾号{tail}"  # how the queue names a customer with a bound account
CONSOLE_CUSTOMER_SMS = "短信客户 {phone}"  # an SMS customer without a bound account (masked phone)
CONSOLE_CUSTOMER_UNBOUND = "{channel}客户（未绑定户号，{since}起咨询）"  # anyone else
