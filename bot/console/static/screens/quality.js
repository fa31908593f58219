// Quality sampling (supervisors): draw a random sample of closed conversations of a period (and an
// agent), read each, score it against the checklist (pass/fail and a comment). Supervisors manage the
// checklist here too: add, rename, retire items (checks already made keep the items they were given).
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { choices, t } from "../labels.js";
import { can, dateTime, flash, time } from "../ui.js";
import { customerLabel } from "./conversations.js";

function ScoreForm({ c, checklist, onSaved }) {
  const [items, setItems] = useState(() => Object.fromEntries(Object.keys(checklist).map((k) => [k, { passed: true, comment: "" }])));
  const [transcript, setTranscript] = useState(null);
  useEffect(() => { api("GET", `/conversations/${c.id}`).then((v) => setTranscript(v.transcript)).catch((e) => flash(e.message, true)); }, [c.id]);
  const set = (code, change) => setItems({ ...items, [code]: { ...items[code], ...change } });
  const save = async (ev) => {
    ev.preventDefault();
    try { const r = await api("POST", `/conversations/${c.id}/quality`, { items }); flash(t("quality_saved", r)); onSaved(c.id); }
    catch (e) { flash(e.message, true); }
  };
  return html`
    <form class="quality-form" id=${"quality-" + c.id} data-handoff=${c.id} onSubmit=${save}>
      <h3>${customerLabel(c)} · ${c.owner || t("none")} · ${dateTime(c.closed_at)}</h3>
      <ul class="transcript readonly">
        ${(transcript || []).map((e) => html`<li key=${e.id} class=${"msg " + e.direction}><span class="small muted">${time(e.at)}</span>
          <div class="text">${e.text}</div></li>`)}
      </ul>
      <table class="grid"><tbody>
        ${Object.entries(checklist).map(([code, name]) => html`
          <tr key=${code} data-item=${code}>
            <td>${name}</td>
            <td><label><input type="radio" name=${c.id + "-" + code} data-pass="true" checked=${items[code].passed}
                  onChange=${() => set(code, { passed: true })} /> ${t("quality_pass")}</label>
                <label><input type="radio" name=${c.id + "-" + code} data-pass="false" checked=${!items[code].passed}
                  onChange=${() => set(code, { passed: false })} /> ${t("quality_fail")}</label></td>
            <td><input class="quality-comment" maxlength="500" placeholder=${t("quality_comment")} value=${items[code].comment}
                  onInput=${(ev) => set(code, { comment: ev.target.value })} /></td>
          </tr>`)}
      </tbody></table>
      <button type="submit" class="quality-save">${t("quality_save")}</button>
    </form>`;
}

function ChecklistItem({ item, onChanged }) {
  const [text, setText] = useState(item.label);
  const rename = async (ev) => {
    ev.preventDefault();
    try { await api("POST", `/quality/checklist/${item.id}`, { label: text }); flash(t("checklist_saved")); onChanged(); }
    catch (e) { flash(e.message, true); }
  };
  const retire = async () => {
    if (!window.confirm(t("checklist_confirm_retire", item))) return;
    try { await api("POST", `/quality/checklist/${item.id}/retire`, {}); flash(t("checklist_retired")); onChanged(); }
    catch (e) { flash(e.message, true); }
  };
  return html`
    <tr data-item=${item.code} class=${item.active ? "" : "muted retired"}>
      <td>${item.active ? html`<form class="checklist-rename line" onSubmit=${rename}>
          <input class="checklist-label" maxlength="60" required value=${text} onInput=${(ev) => setText(ev.target.value)} />
          <button type="submit" class="checklist-save">${t("checklist_rename")}</button></form>` : item.label}</td>
      <td>${t(item.active ? "checklist_in_use" : "checklist_retired")}</td>
      <td>${item.active ? html`<button type="button" class="checklist-retire" onClick=${retire}>${t("checklist_retire")}</button>` : null}</td>
    </tr>`;
}

/** The checklist as supervisors manage it; the items in use are what the next sample is scored against. */
function Checklist({ active, onChanged }) {
  const [items, setItems] = useState(null);
  const [label, setLabel] = useState("");
  const load = () => api("GET", "/quality/checklist").then((r) => setItems(r.items)).catch((e) => flash(e.message, true));
  useEffect(() => { if (active) load(); }, [active]);
  const changed = () => { load(); onChanged(); };
  const add = async (ev) => {
    ev.preventDefault();
    try { await api("POST", "/quality/checklist", { label }); setLabel(""); flash(t("checklist_saved")); changed(); }
    catch (e) { flash(e.message, true); }
  };
  return html`
    <h3>${t("checklist_title")}</h3>
    <table class="grid" id="checklist">
      <thead><tr>${["col_item", "col_state", "col_actions"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="checklist-items">
        ${(items || []).map((i) => html`<${ChecklistItem} key=${i.id + "/" + i.label + "/" + i.active} item=${i} onChanged=${changed} />`)}
      </tbody>
    </table>
    <form id="checklist-add" class="filters" onSubmit=${add}>
      <input id="checklist-new" maxlength="60" required placeholder=${t("checklist_label")} value=${label}
        onInput=${(ev) => setLabel(ev.target.value)} />
      <button type="submit">${t("checklist_add")}</button>
    </form>`;
}

export function Quality({ active }) {
  const [days, setDays] = useState("7");
  const [agent, setAgent] = useState("");
  const [agents, setAgents] = useState([]);
  const [drawn, setDrawn] = useState(null);
  const [recent, setRecent] = useState(null);
  const loadRecent = () => api("GET", "/quality").then(setRecent).catch((e) => flash(e.message, true));
  useEffect(() => {
    if (!active) return;
    loadRecent();
    api("GET", "/agents").then((r) => setAgents(r.agents)).catch(() => setAgents([]));
  }, [active]);
  const draw = async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/quality/sample", { days: Number(days), agent: agent || null });
      setDrawn(r);
      if (!r.conversations.length) flash(t("quality_none"));
    } catch (e) { flash(e.message, true); }
  };
  const saved = (id) => { setDrawn({ ...drawn, conversations: drawn.conversations.filter((c) => c.id !== id) }); loadRecent(); };
  return html`
    <form id="quality-filter" class="filters" onSubmit=${draw}>
      <select id="quality-days" value=${days} onChange=${(ev) => setDays(ev.target.value)}>
        ${choices("metrics_period").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
      <select id="quality-agent" value=${agent} onChange=${(ev) => setAgent(ev.target.value)}>
        <option value="">${t("quality_all_agents")}</option>
        ${agents.map((a) => html`<option value=${a.username}>${t("agent_with_username", a)}</option>`)}</select>
      <button id="quality-draw" type="submit">${t("quality_draw")}</button>
    </form>
    <div id="quality-sample">
      ${drawn ? drawn.conversations.map((c) => html`<${ScoreForm} key=${c.id} c=${c} checklist=${drawn.checklist} onSaved=${saved} />`) : null}
    </div>
    <h3>${t("quality_recent")}</h3>
    <table class="grid">
      <thead><tr>${["col_conversation", "col_agent", "col_closed_at", "col_score"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="quality-recent">
        ${recent && recent.checks.length ? recent.checks.map((c) => html`<tr key=${c.id} data-handoff=${c.id}>
            <td>${customerLabel(c)}</td><td>${c.owner || t("none")}</td><td>${dateTime(c.closed_at)}</td>
            <td>${c.quality.score}${failed(c.quality).length
              ? html`<div class="small muted failed-items">${t("quality_items_failed", { items: failed(c.quality).join(t("list_sep")) })}</div>` : null}</td></tr>`)
          : html`<tr><td colspan="4" class="muted">${t("none_yet")}</td></tr>`}
      </tbody>
    </table>
    ${can("quality.manage") ? html`<${Checklist} active=${active} onChanged=${loadRecent} />` : null}`;
}

/** The labels of the items a check failed, as they were called when it was made. */
function failed(quality) {
  return Object.values(quality.items || {}).filter((i) => !i.passed).map((i) => i.label);
}
