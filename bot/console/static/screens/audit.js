// The audit log (read-only): who did what, in the console's words; the details as readable lines.
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { label, t } from "../labels.js";
import { dateTime, flash } from "../ui.js";

export function Audit({ active }) {
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [rows, setRows] = useState([]);
  const load = async (more) => {
    const params = new URLSearchParams();
    if (actor.trim()) params.set("actor", actor.trim());
    if (action.trim()) params.set("action", action.trim());
    if (more && rows.length) params.set("before", rows[rows.length - 1].id);
    try {
      const r = await api("GET", "/audit?" + params);
      setRows((old) => (more ? old.concat(r.entries) : r.entries));
    } catch (e) { flash(e.message, true); }
  };
  useEffect(() => { if (active) load(false); }, [active]);
  return html`
    <form id="audit-filter" class="filters" onSubmit=${(ev) => { ev.preventDefault(); load(false); }}>
      <input id="audit-actor" placeholder=${t("audit_actor_hint")} value=${actor} onInput=${(ev) => setActor(ev.target.value)} />
      <input id="audit-action" placeholder=${t("audit_action_hint")} value=${action} onInput=${(ev) => setAction(ev.target.value)} />
      <button type="submit">${t("search")}</button>
    </form>
    <table class="grid">
      <thead><tr>${["col_id", "col_time", "col_actor", "col_action", "col_target", "col_outcome", "col_detail"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="audit-rows">
        ${rows.map((e) => html`
          <tr key=${e.id} class=${e.outcome !== "ok" ? "bad" : ""} data-action=${e.action}>
            <td>${e.id}</td><td>${dateTime(e.at)}</td><td>${e.actor_label || e.actor}</td>
            <td>${e.action_label || label("audit_action", e.action)}</td>
            <td>${e.target_label || (e.target_type + " " + e.target_id)}</td>
            <td>${label("audit_outcome", e.outcome)}</td>
            <td class="small">${(e.detail_lines || []).map((line) => html`<div>${line}</div>`)}</td>
          </tr>`)}
      </tbody>
    </table>
    <button id="audit-more" onClick=${() => load(true)}>${t("earlier")}</button>`;
}
