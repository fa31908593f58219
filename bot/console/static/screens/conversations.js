// The conversations screen: the queue (waiting and live conversations), one open conversation with
// its transcript, the reply box, and the customer panel: bound accounts with recent bills, every ticket
// with photos and location, notes, and the customer's past conversations.
import { html, useEffect, useRef, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { choices, duration, label, t } from "../labels.js";
import { alertNew, can, dateTime, flash, session, time, usePoll } from "../ui.js";

const QUEUE_EVERY_MS = 1500;
const TRANSCRIPT_EVERY_MS = 1000;

export function customerLabel(h) {
  const c = h.customer || {};
  return c.display || ((c.name || t("customer_of_channel", { channel: label("channel", h.channel) })) + " …" + (c.ref || ""));
}

function QueueItem({ h, live, current, onOpen, onTake }) {
  const me = session.me;
  return html`
    <li class=${"item" + (current ? " current" : "")} data-handoff=${h.id} id=${"handoff-" + h.id}>
      <div class="line">
        <strong class="who" onClick=${() => onOpen(h.id)}>${customerLabel(h)}</strong>
        <span class="tag">${label("channel", h.channel)}</span>
        ${h.unread && h.owner_username === me.username
          ? html`<span class="tag unread" id=${"unread-" + h.id}>${t("unread_badge", { n: h.unread })}</span>` : null}
      </div>
      <div class="line small">
        ${h.key_customer ? html`<span class="tag key-customer">${t("key_customer_tag")}</span>` : null}
        ${h.skill_group ? html`<span class="tag group" data-group=${h.skill_group}>${label("skill_group", h.skill_group)}</span>` : null}
      </div>
      <div class="line small">
        <span class="reason">${label("reason", h.reason)}</span>
        ${h.status === "waiting" ? html`<span class="wait">${t("waited_for", { time: duration(h.waited_s) })}</span>`
          : html`<span class="owner">${t("owner_is", { owner: h.owner || "" })}</span>`}
      </div>
      <div class="line small muted intent">${t("purpose_intent", { intent: h.last_intent ? label("intent", h.last_intent) : t("purpose_unknown") })}</div>
      ${h.last_message ? html`<div class="line small preview">${h.last_message.text}</div>` : null}
      <div class="line">
        <button class="open" onClick=${() => onOpen(h.id)}>${t("open")}</button>
        ${h.status === "waiting" && can("conversation.take")
          ? html`<button class="take" id=${"take-" + h.id} onClick=${() => onTake(h.id, false)}>${t("take")}</button>` : null}
        ${h.status === "active" && can("conversation.takeover_any") && h.owner_username !== me.username
          ? html`<button class="force" id=${"force-" + h.id} onClick=${() => onTake(h.id, true)}>${t("force_take")}</button>` : null}
      </div>
    </li>`;
}

function Entry({ e }) {
  let who = label("author", "customer"), cls = "customer";
  if (e.author === "bot") { who = label("author", "bot"); cls = "bot"; }
  else if (e.author === "system") { who = label("author", "system"); cls = "system"; }
  else if (e.author.startsWith("agent:")) { who = label("author", "agent") + " " + e.author.slice(6); cls = "agent"; }
  else if (e.direction === "out") { who = e.author; cls = "bot"; }
  return html`<li class=${"msg " + cls} data-id=${e.id}>
    <span class="meta">${who} · ${time(e.at)}</span><span class="text">${e.text}</span></li>`;
}

function Transcript({ entries }) {
  const ref = useRef(null);
  const count = entries.length;
  useEffect(() => { if (ref.current) ref.current.scrollTop = ref.current.scrollHeight; }, [count]);
  return html`<ol id="transcript" class="transcript" ref=${ref}>${entries.map((e) => html`<${Entry} key=${e.id} e=${e} />`)}</ol>`;
}

function Account({ a, revealed, onReveal }) {
  const bill = a.latest_bill;
  const field = (name, value) => html`
    <span class=${"pii" + (revealed[name] !== undefined ? " revealed" : "")} data-field=${name}>
      ${revealed[name] !== undefined ? revealed[name] : value}</span>
    ${can("pii.reveal") ? html`<button class="reveal link" data-field=${name} onClick=${() => onReveal(a.account_no, name)}>${t("reveal")}</button>` : null}`;
  return html`
    <div class="account" data-account=${a.account_no}>
      <div class="line"><strong>${t("account_no_is", { account_no: a.account_no })}</strong>
        <span class="tag">${a.prepaid ? t("prepaid") : t("postpaid")}</span></div>
      <div class="line">${t("account_name")}${field("name", a.name)}</div>
      <div class="line">${t("account_phone")}${field("phone", a.phone || t("none"))}</div>
      <div class="line small">${t("account_address", { address: a.address })}</div>
      <div class="line">${t("balance_is", { amount: a.balance })}${a.days_left !== null ? t("days_left", { days: a.days_left }) : ""}</div>
      <div class=${"line" + (a.arrears.total !== "0.00" ? " bad" : "")}>
        ${t("arrears_is", { amount: a.arrears.total })}${a.arrears.periods.length ? t("arrears_periods", { periods: a.arrears.periods.join(t("list_sep")) }) : ""}</div>
      ${bill ? html`<div class="line small">${t(bill.paid ? "latest_bill_paid" : "latest_bill_unpaid", bill)}</div>` : null}
      <div class="line small">${t("open_tickets_are", { tickets: a.open_tickets.length ? a.open_tickets.map((x) => x.ticket_no).join(t("list_sep")) : t("none_word") })}</div>
      <${Bills} bills=${a.bills || []} />
    </div>`;
}

/** The account's recent bills (newest first): usage in kWh, amount in yuan, paid or not, due date. */
function Bills({ bills }) {
  if (!bills.length) return html`<p class="line small muted bills-none">${t("bills_none")}</p>`;
  return html`
    <table class="grid small bills">
      <caption>${t("bills_title")}</caption>
      <thead><tr>${["col_period", "col_kwh", "col_amount", "col_paid", "col_due"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody>
        ${bills.map((b) => html`<tr key=${b.period} data-period=${b.period} class=${b.overdue ? "bad" : ""}>
          <td>${b.period}</td><td>${b.kwh}</td><td>${b.amount}</td>
          <td class="paid">${t(b.paid ? "bill_paid" : b.overdue ? "bill_overdue" : "bill_unpaid")}</td>
          <td>${b.due_date}</td></tr>`)}
      </tbody>
    </table>`;
}

/** The customer's other conversations this user may read (the server applies the read rule); opening
 * one is a read the server audits. */
function PastConversations({ items, onOpen }) {
  return html`
    <h3>${t("past_conversations")}</h3>
    <ul id="past-conversations" class="tickets">
      ${items.length ? items.map((h) => html`<li key=${h.id} data-handoff=${h.id} class="past">
          <div class="line small">
            <span>${dateTime(h.requested_at)}</span>
            <span class="tag">${label("channel", h.channel)}</span>
            <span class="status">${label("handoff_status", h.status)}</span>
          </div>
          <div class="line small muted">${label("reason", h.reason)}${h.last_intent ? t("list_sep_comma") + label("intent", h.last_intent) : ""}
            ${h.owner ? t("list_sep_comma") + t("owner_is", { owner: h.owner }) : ""}</div>
          <button class="link past-open" onClick=${() => onOpen(h.id)}>${t("open")}</button>
        </li>`)
        : html`<li class="muted" id="past-none">${t("past_none")}</li>`}
    </ul>`;
}

function Attachment({ a }) {
  if (a.kind === "location") {
    return html`<div class="attachment location">${t("location_is", { label: a.label || "", lat: a.lat, lng: a.lng })}</div>`;
  }
  if (a.url && a.url.startsWith("/")) {
    return html`<div class="attachment photo"><a href=${a.url} target="_blank" rel="noopener"><img src=${a.url} alt=${t("photo")} /></a></div>`;
  }
  return html`<div class="attachment photo">${a.url
    ? html`<a href=${a.url} target="_blank" rel="noopener noreferrer">${t("photo_open")}</a>` : t("photo_ref", { ref: a.ref })}</div>`;
}

function Ticket({ ticket, mine, onStatus, onCorrect }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(ticket.description || "");
  const save = async (ev) => {
    ev.preventDefault();
    if (await onCorrect(ticket.ticket_no, text)) setEditing(false);
  };
  return html`
    <li data-ticket=${ticket.ticket_no}>
      <div class="line"><strong>${ticket.ticket_no}</strong>
        <span class="tag">${label("ticket_type", ticket.type)}</span>
        <span class="status">${label("ticket_status", ticket.status)}</span>
        ${mine ? html`<select class="ticket-status" value=${ticket.status} onChange=${(ev) => onStatus(ticket.ticket_no, ev.target.value)}>
          ${choices("ticket_status").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>` : null}
      </div>
      ${editing ? html`
        <form class="ticket-edit" onSubmit=${save}>
          <textarea class="ticket-text" rows="3" maxlength="2000" required value=${text} onInput=${(ev) => setText(ev.target.value)}></textarea>
          <button type="submit" class="ticket-save">${t("save")}</button>
          <button type="button" class="link" onClick=${() => setEditing(false)}>${t("cancel")}</button>
        </form>`
        : html`<div class="line small muted description">${ticket.description || ""}
          ${mine ? html`<button class="link ticket-correct" onClick=${() => { setText(ticket.description || ""); setEditing(true); }}>${t("correct_text")}</button>` : null}</div>`}
      ${ticket.address ? html`<div class="line small">${t("ticket_address", { address: ticket.address })}</div>` : null}
      ${(ticket.attachments || []).map((a, i) => html`<${Attachment} key=${i} a=${a} />`)}
      ${(ticket.corrections || []).length ? html`<ul class="corrections small muted">
        ${ticket.corrections.map((c) => html`<li>${t("corrected_from", { at: dateTime(c.at), actor: c.actor, before: c.before })}</li>`)}</ul>` : null}
    </li>`;
}

function TicketForm({ accounts, onCreate }) {
  const [type, setType] = useState("repair");
  const [account, setAccount] = useState("");
  const [text, setText] = useState("");
  const submit = async (ev) => {
    ev.preventDefault();
    if (await onCreate({ type, account_no: account, description: text })) setText("");
  };
  return html`
    <form id="ticket-form" class="ticket-form" onSubmit=${submit}>
      <h4>${t("new_ticket")}</h4>
      <select id="ticket-type" value=${type} onChange=${(ev) => setType(ev.target.value)}>
        ${choices("ticket_type").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
      <select id="ticket-account" value=${account} onChange=${(ev) => setAccount(ev.target.value)}>
        <option value="">${t("no_account")}</option>
        ${accounts.map((a) => html`<option value=${a.account_no}>${a.account_no}</option>`)}</select>
      <textarea id="ticket-description" rows="3" maxlength="2000" placeholder=${t("ticket_text")} required
        value=${text} onInput=${(ev) => setText(ev.target.value)}></textarea>
      <button id="ticket-submit" type="submit">${t("create_ticket")}</button>
    </form>`;
}

function ReplyForm({ id, onSend }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [canned, setCanned] = useState([]);
  useEffect(() => {
    if (!can("conversation.reply")) return;
    api("GET", "/canned").then((r) => setCanned(r.replies)).catch((e) => console.warn("canned:", e.message));
  }, []);
  const send = async (ev) => {
    ev.preventDefault();
    const value = text.trim();
    if (!value || busy) return;
    setBusy(true);
    try { if (await onSend(value)) setText(""); } finally { setBusy(false); }
  };
  const pick = async (ev) => {
    const c = canned[Number(ev.target.value)];
    ev.target.value = "";
    if (!c) return;
    try { // the server fills the variables in for this conversation
      const r = await api("GET", `/conversations/${id}/canned/${c.id}`);
      setText(r.text);
      if (r.missing.length) flash(t("canned_missing", { names: r.missing.join(t("list_sep")) }), true);
    } catch (e) { flash(e.message, true); }
  };
  return html`
    <form id="reply-form" class="reply" onSubmit=${send}>
      <select id="canned" onChange=${pick}>
        <option value="">${t("canned_pick")}</option>
        ${canned.map((c, i) => html`<option value=${String(i)}>${c.title}</option>`)}</select>
      <textarea id="reply-text" rows="3" maxlength="500" placeholder=${t("reply_placeholder")} value=${text}
        onInput=${(ev) => setText(ev.target.value)}
        onKeyDown=${(ev) => { if (ev.key === "Enter" && ev.ctrlKey) send(ev); }}></textarea>
      <button id="reply-send" type="submit" disabled=${busy}>${t("send")}</button>
    </form>`;
}

function RevealDialog({ ask, onDone }) {
  const ref = useRef(null);
  const [reason, setReason] = useState("");
  useEffect(() => {
    if (ask && ref.current && !ref.current.open) { setReason(""); ref.current.showModal(); }
  }, [ask]);
  const confirm = (ev) => {
    ev.preventDefault();
    const value = reason.trim();
    const input = ref.current.querySelector("#reveal-reason");
    if (value.length < 2) { input.reportValidity(); return; }
    ref.current.close();
    onDone(value);
  };
  const what = ask ? t("reveal_what", { account_no: ask.account_no, field: label("pii_field", ask.field) }) : "";
  return html`
    <dialog id="reveal-dialog" ref=${ref} onClose=${() => onDone(null)}>
      <form id="reveal-form" method="dialog">
        <h3>${t("reveal_title")}</h3>
        <p id="reveal-what">${what}</p>
        <label>${t("reveal_reason")}<input id="reveal-reason" required minlength="2" maxlength="200" value=${reason}
          onInput=${(ev) => setReason(ev.target.value)} /></label>
        <menu><button value="cancel" formnovalidate>${t("cancel")}</button>
          <button id="reveal-confirm" value="ok" onClick=${confirm}>${t("reveal")}</button></menu>
      </form>
    </dialog>`;
}

function Notes({ notes, canNote, canWhisper, onAdd }) {
  const [text, setText] = useState("");
  const add = async (kind) => { if (text.trim() && await onAdd(kind, text.trim())) setText(""); };
  return html`
    <div class="notes">
      <h3>${t("notes_title")}</h3>
      <ul id="notes" class="tickets">
        ${notes.map((n) => html`<li key=${n.id} class=${"note " + n.kind} data-kind=${n.kind}>
          <span class="small muted">${label("note_kind", n.kind)} · ${n.author.replace(/^staff:/, "")} · ${time(n.at)}</span>
          <div class="text">${n.text}</div></li>`)}
      </ul>
      ${canNote || canWhisper ? html`
        <textarea id="note-text" rows="2" maxlength="1000" placeholder=${t("note_placeholder")} value=${text}
          onInput=${(ev) => setText(ev.target.value)}></textarea>
        <div class="line">
          ${canNote ? html`<button id="note-add" type="button" onClick=${() => add("note")}>${t("add_note")}</button>` : null}
          ${canWhisper ? html`<button id="whisper-add" type="button" onClick=${() => add("whisper")}>${t("whisper")}</button>` : null}
        </div>` : null}
    </div>`;
}

function Transfer({ onTransfer }) {
  const [agents, setAgents] = useState([]);
  const [to, setTo] = useState("");
  const [group, setGroup] = useState("");
  const [note, setNote] = useState("");
  useEffect(() => { api("GET", "/agents").then((r) => setAgents(r.agents)).catch((e) => flash(e.message, true)); }, []);
  const submit = (ev) => {
    ev.preventDefault();
    onTransfer(to ? { to_agent: to, note } : { to_group: group, note });
  };
  return html`
    <form id="transfer-form" class="ticket-form" onSubmit=${submit}>
      <h4>${t("transfer_title")}</h4>
      <select id="transfer-agent" value=${to} onChange=${(ev) => setTo(ev.target.value)}>
        <option value="">${t("transfer_to_agent")}</option>
        ${agents.filter((a) => a.username !== session.me.username).map((a) => html`<option value=${a.username}>${t("agent_choice",
          { ...a, presence: label("presence", a.presence) })}</option>`)}</select>
      <select id="transfer-group" value=${group} onChange=${(ev) => setGroup(ev.target.value)}>
        <option value="">${t("transfer_to_group")}</option>
        ${choices("skill_group").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
      <textarea id="transfer-note" rows="2" maxlength="1000" required placeholder=${t("transfer_note")} value=${note}
        onInput=${(ev) => setNote(ev.target.value)}></textarea>
      <button id="transfer-submit" type="submit">${t("transfer")}</button>
    </form>`;
}

function Conversation({ id, onChanged, onOpen }) {
  const [view, setView] = useState(null);
  const [entries, setEntries] = useState([]);
  const [live, setLive] = useState(null); // status, owner, mine from the latest poll
  const [revealed, setRevealed] = useState({});
  const [ask, setAsk] = useState(null);
  const [notes, setNotes] = useState([]);
  const lastId = useRef(0);
  const ended = useRef(false); // an ended conversation no longer changes, and every read of it is audited

  const add = (more) => {
    const fresh = more.filter((e) => e.id > lastId.current);
    if (!fresh.length) return;
    lastId.current = fresh[fresh.length - 1].id;
    setEntries((old) => old.concat(fresh));
  };

  const load = async () => {
    try {
      const v = await api("GET", `/conversations/${id}`);
      setView(v);
      setNotes(v.notes || []);
      setLive({ status: v.handoff.status, owner: v.handoff.owner, mine: v.mine });
      ended.current = v.handoff.status === "closed";
      lastId.current = 0;
      setEntries([]);
      add(v.transcript);
    } catch (e) { flash(e.message, true); }
  };

  useEffect(() => { setView(null); setRevealed({}); load(); }, [id]);
  usePoll(async () => {
    if ((!view && lastId.current === 0) || ended.current) return;
    try {
      const r = await api("GET", `/conversations/${id}/transcript?after=${lastId.current}`);
      add(r.entries);
      if (r.notes) setNotes(r.notes);
      setLive({ status: r.status, owner: r.owner, mine: r.mine });
      ended.current = r.status === "closed";
    } catch (e) { if (e.status === 403 || e.status === 404) onChanged(null); }
  }, TRANSCRIPT_EVERY_MS, [id, view]);

  if (!view || !live) return html`<main id="conversation-empty" class="conversation empty"><p class="muted">${t("loading")}</p></main>`;
  const h = view.handoff;
  const mine = live.mine;

  const take = async () => {
    try { await api("POST", `/conversations/${id}/take`, { force: false }); flash(t("taken_notice")); await load(); onChanged(id); }
    catch (e) { flash(e.message, true); }
  };
  const finish = async (kind) => {
    try {
      await api("POST", `/conversations/${id}/${kind}`, {});
      flash(t(kind === "handback" ? "handed_back" : "closed_notice"));
      await load();
      onChanged(id);
    } catch (e) { flash(e.message, true); }
  };
  const send = async (text) => {
    try {
      const r = await api("POST", `/conversations/${id}/reply`, { text });
      add([r.entry]);
      if (r.delivery.problem) flash(r.delivery.problem, true);
      return true;
    } catch (e) { flash(e.message, true); return false; }
  };
  const createTicket = async (body) => {
    try {
      const tk = await api("POST", `/conversations/${id}/tickets`, body);
      flash(t("ticket_created", { ticket_no: tk.ticket_no }));
      await load();
      return true;
    } catch (e) { flash(e.message, true); return false; }
  };
  const setStatus = async (ticketNo, status) => {
    try {
      await api("POST", `/conversations/${id}/tickets/${encodeURIComponent(ticketNo)}/status`, { status });
      flash(t("ticket_updated", { ticket_no: ticketNo }));
      await load();
    } catch (e) { flash(e.message, true); }
  };
  const correct = async (ticketNo, description) => {
    try {
      await api("POST", `/conversations/${id}/tickets/${encodeURIComponent(ticketNo)}/description`, { description });
      flash(t("ticket_updated", { ticket_no: ticketNo }));
      await load();
      return true;
    } catch (e) { flash(e.message, true); return false; }
  };
  const addNote = async (kind, text) => {
    try {
      const n = await api("POST", `/conversations/${id}/notes`, { kind, text });
      setNotes((old) => old.concat([n]));
      return true;
    } catch (e) { flash(e.message, true); return false; }
  };
  const transfer = async (body) => {
    try {
      await api("POST", `/conversations/${id}/transfer`, body);
      flash(t("transferred"));
      await load();
      onChanged(id);
    } catch (e) { flash(e.message, true); }
  };
  const reveal = async (reason) => {
    const q = ask;
    setAsk(null);
    if (!reason || !q) return;
    try {
      const r = await api("POST", `/conversations/${id}/reveal`, { account_no: q.account_no, field: q.field, reason });
      setRevealed((old) => ({ ...old, [r.account_no + "/" + r.field]: r.value }));
    } catch (e) { flash(e.message, true); }
  };
  const revealedOf = (accountNo) => {
    const out = {};
    for (const [k, v] of Object.entries(revealed)) if (k.startsWith(accountNo + "/")) out[k.slice(accountNo.length + 1)] = v;
    return out;
  };

  return html`
    <main id="conversation" class="conversation" data-handoff=${h.id}>
      <div class="conv-head">
        <div>
          <strong id="conv-customer">${customerLabel(h)}</strong>
          <span id="conv-channel" class="tag">${label("channel", h.channel)}</span>
          <span id="conv-status" class="tag">${label("handoff_status", live.status)}</span>
          <span id="conv-owner">${live.owner ? t("owner_is", { owner: live.owner }) : ""}</span>
          ${live.status === "closed" ? html`<span id="conv-readonly" class="tag">${t("read_only")}</span>` : null}
        </div>
        <div class="conv-actions">
          ${live.status === "waiting" && can("conversation.take") ? html`<button id="conv-take" onClick=${take}>${t("take")}</button>` : null}
          ${mine ? html`<button id="conv-handback" onClick=${() => finish("handback")}>${t("hand_back")}</button>` : null}
          ${mine ? html`<button id="conv-close" onClick=${() => finish("close")}>${t("close_and_rate")}</button>` : null}
        </div>
      </div>
      ${h.key_customer ? html`<p id="key-customer-banner" class="banner">${t("key_customer_banner", { reason: h.key_customer_reason || label("skill_group", "senior") })}</p>` : null}
      <div class="conv-body">
        <div class="chat">
          <${Transcript} entries=${entries} />
          ${mine ? html`<${ReplyForm} id=${id} onSend=${send} />` : null}
        </div>
        <div class="side">
          <h3>${t("bound_accounts")}</h3>
          <div id="accounts">
            ${view.accounts.length ? view.accounts.map((a) => html`<${Account} key=${a.account_no} a=${a}
              revealed=${revealedOf(a.account_no)} onReveal=${(no, field) => setAsk({ account_no: no, field })} />`)
              : html`<p class="muted">${t("no_accounts")}</p>`}
          </div>
          <h3>${t("tickets")}</h3>
          <ul id="tickets" class="tickets">
            ${view.tickets.length ? view.tickets.map((x) => html`<${Ticket} key=${x.ticket_no} ticket=${x} mine=${mine} onStatus=${setStatus} onCorrect=${correct} />`)
              : html`<li class="muted">${t("none_word")}</li>`}
          </ul>
          ${mine ? html`<${TicketForm} accounts=${view.accounts} onCreate=${createTicket} />` : null}
          <${PastConversations} items=${view.past_conversations || []} onOpen=${onOpen} />
          <${Notes} notes=${notes} canNote=${mine || can("conversation.view_all")}
            canWhisper=${!mine && live.status === "active" && can("conversation.takeover_any")} onAdd=${addNote} />
          ${mine ? html`<${Transfer} onTransfer=${transfer} />` : null}
        </div>
      </div>
      <${RevealDialog} ask=${ask} onDone=${reveal} />
    </main>`;
}

/** Search of past conversations by ticket number, account number or masked phone; the server decides which
 * hand-overs this user may see (and audits every search). A hit opens the conversation read-only. */
function Search({ current, onOpen, onTake }) {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    const q = query.trim();
    if (!q) return;
    try { setResults((await api("GET", `/conversations/search?q=${encodeURIComponent(q)}`)).results); }
    catch (e) { flash(e.message, true); }
  };
  return html`
    <form id="search-form" class="search line" onSubmit=${submit}>
      <input id="search-query" type="search" maxlength="40" placeholder=${t("search_placeholder")} value=${query}
        onInput=${(ev) => setQuery(ev.target.value)} />
      <button id="search-submit" type="submit">${t("search")}</button>
      ${results !== null ? html`<button id="search-clear" type="button" class="link"
        onClick=${() => { setResults(null); setQuery(""); }}>${t("search_clear")}</button>` : null}
    </form>
    ${results !== null ? html`
      <h2 id="search-title">${t("search_results")} <span class="count">${results.length}</span></h2>
      <ul id="search-results" class="items ended">
        ${results.length ? results.map((h) => html`<${QueueItem} key=${h.id} h=${h} live=${false} current=${current === h.id} onOpen=${onOpen} onTake=${onTake} />`)
          : html`<li class="muted" id="search-none">${t("search_none")}</li>`}
      </ul>` : null}`;
}

function Routing() {
  const [mine, setMine] = useState(null);
  useEffect(() => { api("GET", "/me/routing").then(setMine).catch((e) => flash(e.message, true)); }, []);
  const change = async (body) => {
    try { setMine(await api("POST", "/me/routing", body)); } catch (e) { flash(e.message, true); }
  };
  if (!mine) return null;
  return html`
    <div class="routing line small">
      <label>${t("presence_label")}
        <select id="presence" value=${mine.presence} onChange=${(ev) => change({ presence: ev.target.value })}>
          ${choices("presence").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
      <label><input id="auto-assign" type="checkbox" checked=${mine.auto_assign}
        onChange=${(ev) => change({ auto_assign: ev.target.checked })} />${t("auto_assign_label")}</label>
    </div>`;
}

export function Conversations() {
  const [queue, setQueue] = useState({ waiting: [], live: [], ended: [] });
  const [current, setCurrent] = useState(null);
  const [opened, setOpened] = useState(0); // bumped to reload the open conversation after a take
  const seen = useRef(null); // ids of waiting conversations already announced (null before the first load)
  const unreadSeen = useRef({}); // unread count per own conversation at the last poll
  const currentRef = useRef(null); // the open conversation, for the poll (its closure outlives renders)
  currentRef.current = current;
  const refresh = async () => {
    try {
      const q = await api("GET", "/queue");
      const first = seen.current === null;
      const fresh = seen.current === null ? [] : q.waiting.filter((h) => !seen.current.has(h.id));
      seen.current = new Set(q.waiting.map((h) => h.id));
      if (fresh.length) alertNew(t("new_waiting", { customer: customerLabel(fresh[0]), n: fresh.length }));
      if (q.assigned) {
        const mine = q.live.find((h) => h.id === q.assigned);
        alertNew(t("auto_assigned", { customer: mine ? customerLabel(mine) : "" }));
        setCurrent(q.assigned);
        setOpened((n) => n + 1);
      }
      const own = q.live.filter((h) => h.owner_username === session.me.username);
      const writing = own.filter((h) => h.id !== currentRef.current && (h.unread || 0) > (unreadSeen.current[h.id] || 0));
      unreadSeen.current = Object.fromEntries(own.map((h) => [h.id, h.unread || 0]));
      if (writing.length && !first && !fresh.length) alertNew(t("new_message", { customer: customerLabel(writing[0]) }));
      const unread = own.reduce((n, h) => n + (h.unread || 0), 0);
      const waiting = q.waiting.length;
      document.title = waiting && unread ? t("title_waiting_unread", { n: waiting, m: unread })
        : waiting ? t("title_waiting", { n: waiting }) : unread ? t("title_unread", { n: unread }) : t("page_title");
      setQueue(q);
    } catch (e) { if (e.status !== 401) console.warn("queue:", e.message); }
  };
  usePoll(refresh, QUEUE_EVERY_MS);
  const take = async (id, force) => {
    try {
      await api("POST", `/conversations/${id}/take`, { force });
      flash(t(force ? "forced_notice" : "taken_notice"));
      setCurrent(id);
      setOpened((n) => n + 1);
    } catch (e) { flash(e.message, true); }
    refresh();
  };
  const changed = (id) => { if (id === null) setCurrent(null); refresh(); };
  return html`
    <aside class="queue">
      ${can("conversation.take") ? html`<${Routing} />` : null}
      <${Search} current=${current} onOpen=${setCurrent} onTake=${take} />
      <h2>${t("waiting_title")} <span id="waiting-count" class="count">${queue.waiting.length}</span></h2>
      <ul id="queue-waiting" class="items">
        ${queue.waiting.map((h) => html`<${QueueItem} key=${h.id} h=${h} live=${false} current=${current === h.id} onOpen=${setCurrent} onTake=${take} />`)}
      </ul>
      <h2 id="live-title">${t(can("conversation.view_all") ? "live_all" : "live_mine")}</h2>
      <ul id="queue-live" class="items">
        ${queue.live.map((h) => html`<${QueueItem} key=${h.id} h=${h} live=${true} current=${current === h.id} onOpen=${setCurrent} onTake=${take} />`)}
      </ul>
      <h2 id="ended-title">${t("ended_title")}</h2>
      <ul id="queue-ended" class="items ended">
        ${(queue.ended || []).map((h) => html`<${QueueItem} key=${h.id} h=${h} live=${false} current=${current === h.id} onOpen=${setCurrent} onTake=${take} />`)}
      </ul>
    </aside>
    ${current === null
      ? html`<main id="conversation-empty" class="conversation empty"><p class="muted">${t("pick_conversation")}</p></main>`
      : html`<${Conversation} key=${current + "/" + opened} id=${current} onChanged=${changed} onOpen=${setCurrent} />`}`;
}
