// The dispatch queue (dispatchers, supervisors, administrators): every open ticket with its SLA clock,
// filters, sorted by urgency on the server; the ticket page with history, notes, photos and actions.
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { choices, duration, label, t } from "../labels.js";
import { can, dateTime, flash, usePoll } from "../ui.js";

const OPEN_STATUSES = ["open", "dispatched", "on_site"];

function slaText(item) {
  if (item.seconds_left === null || item.seconds_left === undefined) return t("sla_kept");
  return item.seconds_left < 0 ? t("sla_overdue", { time: duration(-item.seconds_left) })
    : t("sla_left", { time: duration(item.seconds_left) });
}

function slaClass(item) {
  if (item.overdue) return "sla-overdue";
  if (item.at_risk || item.flagged) return "sla-risk";
  return "sla-ok";
}

function query(filters) {
  const q = Object.entries(filters).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return q.length ? "?" + q.join("&") : "";
}

export function Dispatch({ active }) {
  const [filters, setFilters] = useState({ type: "", status: "", township: "", crew: "", overdue: "" });
  const [data, setData] = useState({ tickets: [], townships: [], crews: [] });
  const [selected, setSelected] = useState(null);
  const [escalations, setEscalations] = useState({ escalated: [], flagged: [] });
  const load = () => {
    api("GET", "/tickets" + query(filters)).then(setData).catch((e) => flash(e.message, true));
    if (can("escalations.view")) api("GET", "/escalations").then(setEscalations).catch(() => {});
  };
  usePoll(() => { if (active) load(); }, 10000, [active, JSON.stringify(filters)]);
  const set = (k) => (ev) => setFilters({ ...filters, [k]: ev.target.type === "checkbox" ? (ev.target.checked ? "1" : "") : ev.target.value });
  return html`
    <div class="pane list">
      ${escalations.escalated.length ? html`
        <div id="escalation-list" class="escalations">
          <strong>${t("escalated")}</strong>
          ${escalations.escalated.map((e) => html`<button key=${e.ticket_no} class="badge bad" onClick=${() => setSelected(e.ticket_no)}>
            ${e.ticket_no} ${label("ticket_type", e.type)} ${e.township || ""} ${t("sla_overdue", { time: duration(-e.seconds_left) })}</button>`)}
        </div>` : null}
      <form id="dispatch-filters" class="filters" onSubmit=${(ev) => ev.preventDefault()}>
        <select id="filter-type" value=${filters.type} onChange=${set("type")}>
          <option value="">${t("filter_any_type")}</option>
          ${choices("ticket_type").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
        <select id="filter-status" value=${filters.status} onChange=${set("status")}>
          <option value="">${t("filter_any_status")}</option>
          ${OPEN_STATUSES.map((k) => html`<option value=${k}>${label("ticket_status", k)}</option>`)}</select>
        <select id="filter-township" value=${filters.township} onChange=${set("township")}>
          <option value="">${t("filter_any_township")}</option>
          ${data.townships.map((k) => html`<option value=${k}>${k}</option>`)}</select>
        <select id="filter-crew" value=${filters.crew} onChange=${set("crew")}>
          <option value="">${t("filter_any_crew")}</option>
          ${data.crews.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>
        <label><input id="filter-overdue" type="checkbox" checked=${!!filters.overdue} onChange=${set("overdue")} /> ${t("filter_overdue")}</label>
      </form>
      <table class="grid">
        <thead><tr>${["col_ticket", "col_type", "col_status", "col_place", "col_crew", "col_sla", "col_urges"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
        <tbody id="dispatch-rows">
          ${data.tickets.map((i) => html`
            <tr key=${i.ticket_no} data-ticket=${i.ticket_no} class=${slaClass(i) + (selected === i.ticket_no ? " selected" : "")}
              onClick=${() => setSelected(i.ticket_no)}>
              <td>${i.ticket_no} ${i.key_customer ? html`<span class="badge key">${t("key_customer")}</span>` : null}</td>
              <td>${label("ticket_type", i.type)}</td>
              <td>${label("ticket_status", i.status)}</td>
              <td>${[i.township, i.village].filter(Boolean).join(" ")}</td>
              <td>${i.crew || t("none")}</td>
              <td class="sla">${slaText(i)} ${i.escalated ? html`<span class="badge bad">${t("escalated")}</span>`
                : i.flagged ? html`<span class="badge warn">${t("flagged")}</span>` : null}</td>
              <td>${i.urge_count || ""}</td>
            </tr>`)}
        </tbody>
      </table>
      <p class="muted" hidden=${data.tickets.length > 0}>${t("ticket_none")}</p>
    </div>
    <div class="pane detail">
      ${selected ? html`<${TicketPage} key=${selected} ticketNo=${selected} crews=${data.crews} onChange=${load} />`
        : html`<p class="muted">${t("ticket_choose")}</p>`}
    </div>`;
}

function TicketPage({ ticketNo, crews, onChange }) {
  const [view, setView] = useState(null);
  const [form, setForm] = useState({ status: "", note: "", eta: "", crew_id: "", into: "", text: "", description: "", reason: "" });
  const load = () => api("GET", `/tickets/${encodeURIComponent(ticketNo)}`).then((v) => {
    setView(v);
    setForm((f) => ({ ...f, status: v.next_statuses[0] || "", description: v.ticket.description, crew_id: v.ticket.crew_id || "" }));
  }).catch((e) => flash(e.message, true));
  useEffect(() => { load(); }, [ticketNo]);
  if (!view) return html`<p class="muted">${t("loading")}</p>`;
  const set = (k) => (ev) => setForm({ ...form, [k]: ev.target.value });
  const post = async (action, body) => {
    try {
      await api("POST", `/tickets/${encodeURIComponent(ticketNo)}/${action}`, body);
      flash(t("action_done"));
      await load();
      onChange();
    } catch (e) { flash(e.message, true); }
  };
  const keyCustomer = async (flagged) => {
    try {
      await api("POST", `/accounts/${encodeURIComponent(view.account.account_no)}/key-customer`, { flagged, reason: form.reason });
      flash(t("action_done"));
      await load();
    } catch (e) { flash(e.message, true); }
  };
  const tk = view.ticket;
  const activeCrews = crews.filter((c) => c.active);
  return html`
    <div id="ticket-page" data-ticket=${tk.ticket_no} data-status=${tk.status}>
      <h2>${tk.ticket_no} · ${label("ticket_type", tk.type)} · <span id="ticket-status">${label("ticket_status", tk.status)}</span></h2>
      ${tk.merged_into ? html`<p class="badge warn">${t("ticket_merged_into", { ticket_no: tk.merged_into })}</p>` : null}
      <p class=${"sla " + slaClass(tk)} id="ticket-sla">${slaText(tk)}</p>
      <dl class="facts">
        <dt>${t("ticket_description")}</dt><dd id="ticket-description">${tk.description}</dd>
        <dt>${t("ticket_place")}</dt><dd>${[view.place.township, view.place.village, view.place.address].filter(Boolean).join(" ")}</dd>
        <dt>${t("ticket_contact")}</dt><dd>${view.contact ? `${label("channel", view.contact.channel)} ${view.contact.ref}` : t("none")}</dd>
        <dt>${t("ticket_callback")}</dt><dd>${view.callback_phone || t("none")}</dd>
        <dt>${t("ticket_account")}</dt><dd>${view.account ? `${view.account.account_no} ${view.account.name} ${view.account.phone}` : t("none")}
          ${view.account && view.account.key_customer ? html` <span class="badge key">${t("key_customer")} ${view.account.key_customer_reason || ""}</span>` : null}</dd>
        <dt>${t("col_crew")}</dt><dd id="ticket-crew-name">${tk.crew || t("none")}</dd>
        <dt>${t("ticket_eta")}</dt><dd>${dateTime(tk.eta) || t("none")}</dd>
      </dl>
      ${view.inspection ? html`<h3>${t("ticket_inspection")}</h3>
        <p>${label("equipment_kind", view.inspection.equipment_kind)} ${view.inspection.equipment_ref} · ${label("severity", view.inspection.severity)}
          ${Object.entries(view.inspection.readings || {}).map(([k, v]) => ` · ${k}=${v}`)}</p>` : null}
      ${view.attachments.some((a) => a.url) ? html`<h3>${t("ticket_photos")}</h3>
        <div class="photos">${view.attachments.filter((a) => a.url).map((a) => html`<img key=${a.id} src=${a.url} alt="" />`)}</div>` : null}
      ${view.may_work && view.next_statuses.length ? html`
        <form id="ticket-status-form" class="actions" onSubmit=${(ev) => { ev.preventDefault(); post("status", { status: form.status, note: form.note, eta: form.eta, crew_id: form.crew_id }); }}>
          <select id="ticket-status-select" value=${form.status} onChange=${set("status")}>
            ${view.next_statuses.map((k) => html`<option value=${k}>${label("ticket_status", k)}</option>`)}</select>
          <select id="ticket-crew" value=${form.crew_id} onChange=${set("crew_id")}>
            <option value="">${t("none")}</option>
            ${activeCrews.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>
          <input id="ticket-eta" type="datetime-local" value=${form.eta} onInput=${set("eta")} title=${t("ticket_eta")} />
          <input id="ticket-note" placeholder=${t("status_note")} maxlength="500" value=${form.note} onInput=${set("note")} />
          <button id="ticket-status-apply" type="submit">${t("action_status")}</button>
          <button id="ticket-assign" type="button" onClick=${() => post("assign", { crew_id: form.crew_id, eta: form.eta })}>${t("action_assign")}</button>
        </form>
        <form class="actions" onSubmit=${(ev) => { ev.preventDefault(); post("merge", { into: form.into.trim() }); }}>
          <input id="ticket-merge-into" placeholder=${t("merge_into")} maxlength="20" value=${form.into} onInput=${set("into")} />
          <button type="submit">${t("action_merge")}</button>
        </form>` : null}
      <form class="actions" onSubmit=${(ev) => { ev.preventDefault(); post("description", { description: form.description }); }}>
        <textarea id="ticket-description-edit" maxlength="2000" value=${form.description} onInput=${set("description")}></textarea>
        <button type="submit">${t("action_correct")}</button>
      </form>
      <form class="actions" onSubmit=${(ev) => { ev.preventDefault(); post("notes", { text: form.text }).then(() => setForm((f) => ({ ...f, text: "" }))); }}>
        <input id="ticket-note-text" maxlength="1000" value=${form.text} onInput=${set("text")} />
        <button type="submit">${t("action_note")}</button>
      </form>
      ${view.account && can("key_customer.set") ? html`
        <form class="actions" onSubmit=${(ev) => { ev.preventDefault(); keyCustomer(!view.account.key_customer); }}>
          ${view.account.key_customer ? null : html`<input id="key-customer-reason" placeholder=${t("key_customer_reason")} maxlength="100" value=${form.reason} onInput=${set("reason")} />`}
          <button id="key-customer-toggle" type="submit">${t(view.account.key_customer ? "key_customer_clear" : "key_customer_set")}</button>
        </form>` : null}
      <h3>${t("ticket_history")}</h3>
      <ol id="ticket-history" class="history">
        ${view.history.map((e, i) => html`<li key=${i} data-status=${e.status}>${dateTime(e.at)} ${label("ticket_status", e.status)} ${e.note} · ${e.actor}</li>`)}
      </ol>
      <h3>${t("ticket_notes")}</h3>
      <ol id="ticket-notes" class="history">
        ${view.notes.map((n, i) => html`<li key=${i}>${dateTime(n.at)} ${label("ticket_note_kind", n.kind)}: ${n.text} · ${n.author}</li>`)}
      </ol>
    </div>`;
}
