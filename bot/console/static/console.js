// The agent console page. Plain JavaScript, no build step, no CDN.
// The server decides what a user may do; this page only hides what the server would refuse anyway.
// Every text from the server goes into the page with textContent (never innerHTML).
"use strict";

(function () {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const QUEUE_EVERY_MS = 1500;
  const TRANSCRIPT_EVERY_MS = 1000;

  const ROLE = { agent: "坐席", supervisor: "班长", admin: "管理员" };
  const REASON = { asked: "客户要求转人工", misunderstood: "连续两次未能理解", complaint: "投诉", bot_failure: "系统故障，待人工处理" };
  const CHANNEL = { wechat: "微信", sms: "短信", rest: "测试接口", console: "坐席" };
  const STATUS = { waiting: "等待中", active: "人工服务中", closed: "已结束" };
  const TICKET_TYPE = { repair: "故障报修", hazard: "隐患上报", complaint: "投诉", meter: "电能表校验",
    business: "业务申请", callback: "回电请求" };
  const TICKET_STATUS = { open: "已受理", dispatched: "已派单", on_site: "已到达现场", resolved: "已处理",
    closed: "已关闭", cancelled: "已撤销" };
  const INTENT = { greet: "问候", goodbye: "再见", thank: "感谢", affirm: "肯定", deny: "否定", inform: "提供信息",
    out_of_scope: "超出范围", request_human: "转人工", query_bill: "查电费", query_balance: "查余额/欠费",
    query_usage: "查电量", payment_methods: "缴费方式", report_outage: "停电报修",
    query_repair_progress: "报修进度", query_planned_outage: "计划停电", query_tariff: "电价",
    bind_account: "绑定户号", report_hazard: "隐患上报", business_application: "业务办理", complaint: "投诉",
    meter_issue: "电表问题", nlu_fallback: "未能理解" };

  const state = { me: null, current: null, ended: null, lastId: 0, auditBefore: null, timers: {} };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function can(permission) { return !!state.me && state.me.permissions.includes(permission); }

  function flash(text, bad) {
    const f = $("flash");
    f.textContent = text;
    f.className = bad ? "flash bad" : "flash";
    f.hidden = false;
    clearTimeout(state.timers.flash);
    state.timers.flash = setTimeout(() => { f.hidden = true; }, 6000);
  }

  class ApiError extends Error {
    constructor(status, body) { super(body.message || body.error || String(status)); this.status = status; this.body = body; }
  }

  async function api(method, path, body) {
    const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      opts.headers["X-CSRF-Token"] = CSRF;
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body || {});
    }
    const resp = await fetch("/console/api" + path, opts);
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {}; }
    if (resp.status === 401) { window.location.href = "/console/login"; throw new ApiError(401, data); }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function waited(seconds) {
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? `${m}分${s}秒` : `${s}秒`;
  }

  function customerLabel(h) {
    const c = h.customer || {};
    return (c.name ? c.name : (CHANNEL[h.channel] || h.channel) + "用户") + " …" + (c.ref || "");
  }

  function time(iso) { return iso ? iso.slice(11, 19) : ""; }

  // ------------------------------------------------------------------------------------ queue

  function queueItem(h, live) {
    const li = el("li", { class: "item" + (state.current === h.id ? " current" : ""), data: { handoff: h.id },
      id: "handoff-" + h.id });
    const open = () => openConversation(h.id);
    li.append(
      el("div", { class: "line" },
        el("strong", { class: "who", on: { click: open } }, customerLabel(h)),
        el("span", { class: "tag" }, CHANNEL[h.channel] || h.channel)),
      el("div", { class: "line small" },
        el("span", { class: "reason" }, REASON[h.reason] || h.reason),
        live ? el("span", { class: "owner" }, "坐席：" + (h.owner || ""))
          : el("span", { class: "wait" }, "已等待 " + waited(h.waited_s))),
      el("div", { class: "line small muted" }, "机器人最新理解：" + (INTENT[h.last_intent] || h.last_intent || "—")));
    const buttons = el("div", { class: "line" });
    buttons.append(el("button", { class: "open", on: { click: open } }, "查看"));
    if (!live && can("conversation.take")) {
      buttons.append(el("button", { class: "take", id: "take-" + h.id, on: { click: () => take(h.id, false) } }, "接入"));
    }
    if (live && can("conversation.takeover_any") && h.owner_username !== state.me.username) {
      buttons.append(el("button", { class: "force", id: "force-" + h.id, on: { click: () => take(h.id, true) } }, "强制接管"));
    }
    li.append(buttons);
    return li;
  }

  async function refreshQueue() {
    try {
      const q = await api("GET", "/queue");
      $("waiting-count").textContent = q.waiting.length;
      $("queue-waiting").replaceChildren(...q.waiting.map((h) => queueItem(h, false)));
      $("queue-live").replaceChildren(...q.live.map((h) => queueItem(h, true)));
    } catch (e) {
      if (e.status !== 401) console.warn("queue:", e.message);
    }
  }

  async function take(id, force) {
    try {
      await api("POST", `/conversations/${id}/take`, { force });
      flash(force ? "已接管该会话" : "已接入，客户已收到接入提示");
      await refreshQueue();
      await openConversation(id);
    } catch (e) {
      flash(e.message, true);
      await refreshQueue();
    }
  }

  // ----------------------------------------------------------------------------- conversation

  function entryNode(e) {
    let who = "客户", cls = "customer";
    if (e.author === "bot") { who = "机器人"; cls = "bot"; }
    else if (e.author === "system") { who = "系统通知"; cls = "system"; }
    else if (e.author.startsWith("agent:")) { who = "坐席 " + e.author.slice(6); cls = "agent"; }
    else if (e.direction === "out") { who = e.author; cls = "bot"; }
    return el("li", { class: "msg " + cls, data: { id: e.id } },
      el("span", { class: "meta" }, `${who} · ${time(e.at)}`),
      el("span", { class: "text" }, e.text));
  }

  function appendEntries(entries) {
    const list = $("transcript");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    for (const e of entries) {
      if (e.id <= state.lastId) continue;
      list.append(entryNode(e));
      state.lastId = e.id;
    }
    if (atBottom || entries.length) list.scrollTop = list.scrollHeight;
  }

  function showControls(status, owner, mine) {
    $("conv-status").textContent = STATUS[status] || status;
    $("conv-owner").textContent = owner ? "坐席：" + owner : "";
    $("conv-take").hidden = !(status === "waiting" && can("conversation.take"));
    $("conv-handback").hidden = !mine;
    $("conv-close").hidden = !mine;
    $("reply-form").hidden = !mine;
    $("ticket-form").hidden = !mine;
    for (const b of document.querySelectorAll(".ticket-status")) b.hidden = !mine;
  }

  function accountNode(a) {
    const reveal = (field) => can("pii.reveal")
      ? el("button", { class: "reveal link", data: { field }, on: { click: () => askReveal(a.account_no, field) } }, "查看") : null;
    const bill = a.latest_bill;
    return el("div", { class: "account", data: { account: a.account_no } },
      el("div", { class: "line" }, el("strong", {}, "户号 " + a.account_no), el("span", { class: "tag" }, a.prepaid ? "费控" : "后付费")),
      el("div", { class: "line" }, "户名：", el("span", { class: "pii", data: { field: "name" } }, a.name), reveal("name")),
      el("div", { class: "line" }, "电话：", el("span", { class: "pii", data: { field: "phone" } }, a.phone || "—"), reveal("phone")),
      el("div", { class: "line small" }, "地址：" + a.address),
      el("div", { class: "line" }, "余额：" + a.balance + " 元" + (a.days_left !== null ? `（约可用${a.days_left}天）` : "")),
      el("div", { class: "line" + (a.arrears.total !== "0.00" ? " bad" : "") },
        "欠费：" + a.arrears.total + " 元" + (a.arrears.periods.length ? `（${a.arrears.periods.join("、")}）` : "")),
      bill ? el("div", { class: "line small" },
        `最新账单 ${bill.period}：${bill.kwh} 度，${bill.amount} 元，${bill.paid ? "已缴" : "未缴，" + bill.due_date + " 到期"}`) : null,
      el("div", { class: "line small" }, "未完结工单：" + (a.open_tickets.length ? a.open_tickets.map((t) => t.ticket_no).join("、") : "无")));
  }

  function ticketNode(t) {
    const select = el("select", { class: "ticket-status", hidden: true, on: { change: (ev) => setTicketStatus(t.ticket_no, ev.target.value) } },
      ...Object.entries(TICKET_STATUS).map(([k, v]) => el("option", { value: k, selected: k === t.status }, v)));
    return el("li", { data: { ticket: t.ticket_no } },
      el("div", { class: "line" }, el("strong", {}, t.ticket_no), el("span", { class: "tag" }, TICKET_TYPE[t.type] || t.type),
        el("span", { class: "status" }, TICKET_STATUS[t.status] || t.status), select),
      el("div", { class: "line small muted" }, t.description || ""));
  }

  function render(view) {
    const h = view.handoff;
    $("conversation").hidden = false;
    $("conversation-empty").hidden = true;
    $("conversation").dataset.handoff = h.id;
    $("conv-customer").textContent = customerLabel(h);
    $("conv-channel").textContent = CHANNEL[h.channel] || h.channel;
    $("accounts").replaceChildren(...(view.accounts.length ? view.accounts.map(accountNode) : [el("p", { class: "muted" }, "未绑定户号")]));
    $("tickets").replaceChildren(...(view.tickets.length ? view.tickets.map(ticketNode) : [el("li", { class: "muted" }, "无")]));
    $("ticket-account").replaceChildren(el("option", { value: "" }, "不关联户号"),
      ...view.accounts.map((a) => el("option", { value: a.account_no }, a.account_no)));
    $("transcript").replaceChildren();
    state.lastId = 0;
    appendEntries(view.transcript);
    showControls(h.status, h.owner, view.mine);
  }

  async function openConversation(id) {
    try {
      const view = await api("GET", `/conversations/${id}`);
      state.current = id;
      state.ended = view.handoff.status === "closed" ? id : null;
      render(view);
      for (const li of document.querySelectorAll("#tab-conversations .item")) {
        li.classList.toggle("current", Number(li.dataset.handoff) === id);
      }
    } catch (e) {
      flash(e.message, true);
    }
  }

  async function pollTranscript() {
    // an ended conversation does not change any more, and every read of it is audited: poll it no further
    if (state.current === null || state.ended === state.current) return;
    const id = state.current;
    try {
      const r = await api("GET", `/conversations/${id}/transcript?after=${state.lastId}`);
      if (state.current !== id) return;
      appendEntries(r.entries);
      showControls(r.status, r.owner, r.mine);
      if (r.status === "closed") state.ended = id;
    } catch (e) {
      if (e.status === 403 || e.status === 404) { state.current = null; $("conversation").hidden = true; $("conversation-empty").hidden = false; }
    }
  }

  async function sendReply(ev) {
    ev.preventDefault();
    const box = $("reply-text");
    const text = box.value.trim();
    if (!text || state.current === null) return;
    $("reply-send").disabled = true;
    try {
      const r = await api("POST", `/conversations/${state.current}/reply`, { text });
      box.value = "";
      appendEntries([r.entry]);
      if (r.delivery.status === "undeliverable" || r.delivery.status === "failed") {
        flash("消息已记录，但未能送达客户（" + r.delivery.channel + "/" + r.delivery.status + "）", true);
      }
    } catch (e) {
      flash(e.message, true);
    } finally {
      $("reply-send").disabled = false;
    }
  }

  async function finish(kind) {
    const id = state.current;
    if (id === null) return;
    try {
      await api("POST", `/conversations/${id}/${kind}`, {});
      flash(kind === "handback" ? "已交还机器人" : "会话已结束，已邀请客户评价");
      await openConversation(id);
      await refreshQueue();
    } catch (e) {
      flash(e.message, true);
    }
  }

  async function createTicket(ev) {
    ev.preventDefault();
    try {
      const t = await api("POST", `/conversations/${state.current}/tickets`, {
        type: $("ticket-type").value, account_no: $("ticket-account").value, description: $("ticket-description").value });
      $("ticket-description").value = "";
      flash("已创建工单 " + t.ticket_no);
      await openConversation(state.current);
    } catch (e) {
      flash(e.message, true);
    }
  }

  async function setTicketStatus(ticketNo, status) {
    try {
      await api("POST", `/conversations/${state.current}/tickets/${encodeURIComponent(ticketNo)}/status`, { status });
      flash("工单 " + ticketNo + " 已更新");
      await openConversation(state.current);
    } catch (e) {
      flash(e.message, true);
    }
  }

  function askReveal(accountNo, field) {
    const dialog = $("reveal-dialog");
    $("reveal-what").textContent = `户号 ${accountNo} 的${field === "name" ? "户名" : "电话"}`;
    $("reveal-reason").value = "";
    dialog.dataset.account = accountNo;
    dialog.dataset.field = field;
    dialog.showModal();
  }

  async function confirmReveal(ev) {
    ev.preventDefault();
    const dialog = $("reveal-dialog");
    const reason = $("reveal-reason").value.trim();
    if (reason.length < 2) { $("reveal-reason").reportValidity(); return; }
    dialog.close();
    try {
      const r = await api("POST", `/conversations/${state.current}/reveal`,
        { account_no: dialog.dataset.account, field: dialog.dataset.field, reason });
      const span = document.querySelector(`.account[data-account="${r.account_no}"] .pii[data-field="${r.field}"]`);
      if (span) { span.textContent = r.value; span.classList.add("revealed"); }
    } catch (e) {
      flash(e.message, true);
    }
  }

  async function loadCanned() {
    if (!can("conversation.reply")) return;
    try {
      const r = await api("GET", "/canned");
      $("canned").replaceChildren(el("option", { value: "" }, "常用语…"),
        ...r.replies.map((c, i) => el("option", { value: String(i) }, c.title)));
      $("canned").onchange = (ev) => {
        const c = r.replies[Number(ev.target.value)];
        if (c) { $("reply-text").value = c.text; $("reply-text").focus(); }
        ev.target.value = "";
      };
    } catch (e) { console.warn("canned:", e.message); }
  }

  // ------------------------------------------------------------------------------- audit, staff

  async function loadAudit(more) {
    const params = new URLSearchParams();
    if ($("audit-actor").value.trim()) params.set("actor", $("audit-actor").value.trim());
    if ($("audit-action").value.trim()) params.set("action", $("audit-action").value.trim());
    if (more && state.auditBefore) params.set("before", state.auditBefore);
    try {
      const r = await api("GET", "/audit?" + params);
      const rows = r.entries.map((e) => el("tr", { class: e.outcome !== "ok" ? "bad" : "" },
        el("td", {}, e.id), el("td", {}, e.at.replace("T", " ").slice(0, 19)), el("td", {}, e.actor), el("td", {}, e.action),
        el("td", {}, `${e.target_type} ${e.target_id}`), el("td", {}, e.outcome), el("td", { class: "small" }, JSON.stringify(e.detail))));
      if (more) $("audit-rows").append(...rows); else $("audit-rows").replaceChildren(...rows);
      state.auditBefore = r.entries.length ? r.entries[r.entries.length - 1].id : state.auditBefore;
    } catch (e) { flash(e.message, true); }
  }

  function showPassword(username, password) {
    const p = $("staff-password");
    p.textContent = `${username} 的初始密码：${password}（只显示这一次，请当面交给本人）`;
    p.hidden = false;
  }

  async function loadStaff() {
    try {
      const r = await api("GET", "/staff");
      $("staff-rows").replaceChildren(...r.staff.map((u) => el("tr", { data: { username: u.username } },
        el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, ROLE[u.role] || u.role),
        el("td", {}, u.active ? (u.locked ? "已锁定" : "正常") : "已停用"),
        el("td", {},
          u.username === state.me.username ? null
            : el("button", { on: { click: () => staffAction(u.username, u.active ? "disable" : "enable") } }, u.active ? "停用" : "启用"),
          el("button", { on: { click: () => staffAction(u.username, "reset-password") } }, "重置密码")))));
    } catch (e) { flash(e.message, true); }
  }

  async function staffAction(username, action) {
    const question = { disable: `停用 ${username}？其登录会立即失效。`, "reset-password": `为 ${username} 重置密码？其登录会立即失效。` };
    if (question[action] && !window.confirm(question[action])) return;
    try {
      const r = await api("POST", `/staff/${encodeURIComponent(username)}/${action}`, {});
      if (r.password) showPassword(username, r.password);
      await loadStaff();
    } catch (e) { flash(e.message, true); }
  }

  async function addStaff(ev) {
    ev.preventDefault();
    try {
      const r = await api("POST", "/staff", { username: $("staff-username").value.trim(),
        display_name: $("staff-display").value.trim(), role: $("staff-role").value });
      showPassword(r.user.username, r.password);
      $("staff-username").value = ""; $("staff-display").value = "";
      await loadStaff();
    } catch (e) { flash(e.message, true); }
  }

  // ---------------------------------------------------------------------------- service quality

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }
  function num(x, unit) { return x === null || x === undefined ? "—" : x + (unit || ""); }
  function card(label, value, note) {
    return el("div", { class: "card" }, el("div", { class: "value" }, String(value)),
      el("div", { class: "label" }, label), note ? el("div", { class: "muted small" }, note) : "");
  }

  async function loadMetrics() {
    try {
      const m = await api("GET", "/metrics?days=" + encodeURIComponent($("metrics-days").value));
      const reasons = Object.entries(m.handoffs_by_reason).map(([k, v]) => (REASON[k] || k) + " " + v).join("，");
      $("metrics-cards").replaceChildren(
        card("会话数", m.conversations, m.customer_messages + " 条客户消息"),
        card("机器人独立解决率", pct(m.bot_containment), m.handed_to_agents + " 个会话转人工"),
        card("转人工", Object.values(m.handoffs_by_reason).reduce((a, b) => a + b, 0), reasons || "无"),
        card("等待接入（中位数 / 90%）", num(m.wait_p50_s, " 秒") + " / " + num(m.wait_p90_s, " 秒"),
             "当前排队 " + m.waiting_now),
        card("工单时限达成率", pct(m.sla_met_rate),
             "达成 " + m.sla_met + "，超时 " + m.sla_missed + "，进行中 " + m.sla_pending),
        card("当前超时未处理工单", m.overdue_open_now),
        card("平均满意度", num(m.average_rating), m.ratings + " 次评价；机器人 " + num(m.average_rating_bot) +
             "，坐席 " + num(m.average_rating_agents)));
      $("metrics-agents").replaceChildren(...(m.agents.length ? m.agents.map((a) => el("tr", {},
        el("td", {}, a.display_name + "（" + a.username + "）"), el("td", {}, String(a.taken)),
        el("td", {}, String(a.closed)), el("td", {}, String(a.ratings)), el("td", {}, num(a.average_rating)))) :
        [el("tr", {}, el("td", { colspan: "5", class: "muted" }, "暂无"))]));
      $("metrics-tickets").replaceChildren(...Object.entries(m.tickets_opened).map(([k, v]) =>
        el("tr", {}, el("td", {}, TICKET_TYPE[k] || k), el("td", {}, String(v)))));
      $("metrics-ratings").replaceChildren(...Object.entries(m.rating_distribution).reverse().map(([k, v]) =>
        el("tr", {}, el("td", {}, k + " 分"), el("td", {}, String(v)))));
      $("metrics-generated").textContent = "生成于 " + m.generated_at.slice(0, 19).replace("T", " ") + " UTC";
    } catch (e) { flash(e.message, true); }
  }

  // ------------------------------------------------------------------------------------ start

  function showTab(name) {
    for (const b of document.querySelectorAll("#tabs .tab")) b.classList.toggle("active", b.dataset.tab === name);
    for (const s of document.querySelectorAll(".tab-page")) s.hidden = s.id !== "tab-" + name;
    if (name === "audit") loadAudit(false);
    if (name === "metrics") loadMetrics();
    if (name === "staff") loadStaff();
  }

  async function start() {
    state.me = await api("GET", "/me");
    $("me-role").textContent = ROLE[state.me.role] || state.me.role;
    for (const b of document.querySelectorAll("#tabs .tab")) {
      b.hidden = !can(b.dataset.perm);
      b.addEventListener("click", () => showTab(b.dataset.tab));
    }
    $("live-title").textContent = can("conversation.view_all") ? "全部进行中的会话" : "我的会话";
    $("reply-form").addEventListener("submit", sendReply);
    $("reply-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.ctrlKey) sendReply(ev); });
    $("conv-take").addEventListener("click", () => take(state.current, false));
    $("conv-handback").addEventListener("click", () => finish("handback"));
    $("conv-close").addEventListener("click", () => finish("close"));
    $("ticket-form").addEventListener("submit", createTicket);
    $("reveal-confirm").addEventListener("click", confirmReveal);
    $("audit-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadAudit(false); });
    $("audit-more").addEventListener("click", () => loadAudit(true));
    $("staff-form").addEventListener("submit", addStaff);
    $("metrics-days").addEventListener("change", loadMetrics);
    if (can("queue.view")) {
      await refreshQueue();
      await loadCanned();
      state.timers.queue = setInterval(refreshQueue, QUEUE_EVERY_MS);
      state.timers.transcript = setInterval(pollTranscript, TRANSCRIPT_EVERY_MS);
    } else if (can("staff.manage")) {
      showTab("staff");
    }
  }

  document.addEventListener("DOMContentLoaded", () => { start().catch((e) => flash(e.message, true)); });
})();
