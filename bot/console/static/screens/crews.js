// Crews for administrators: add one, enable or disable it (a renamed crew is a new one).
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { t } from "../labels.js";
import { flash } from "../ui.js";

export function Crews({ active }) {
  const [rows, setRows] = useState([]);
  const [form, setForm] = useState({ name: "", township: "" });
  const load = () => api("GET", "/crews").then((r) => setRows(r.crews)).catch((e) => flash(e.message, true));
  useEffect(() => { if (active) load(); }, [active]);
  const add = async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/crews", { name: form.name.trim(), township: form.township.trim() });
      setForm({ name: "", township: "" });
      await load();
    } catch (e) { flash(e.message, true); }
  };
  const toggle = async (crew) => {
    try { await api("POST", `/crews/${crew.id}`, { active: !crew.active }); await load(); } catch (e) { flash(e.message, true); }
  };
  const set = (k) => (ev) => setForm({ ...form, [k]: ev.target.value });
  return html`
    <form id="crew-form" class="filters" onSubmit=${add}>
      <input id="crew-name" placeholder=${t("crew_name")} maxlength="40" required value=${form.name} onInput=${set("name")} />
      <input id="crew-township" placeholder=${t("crew_township")} maxlength="40" value=${form.township} onInput=${set("township")} />
      <button type="submit">${t("crew_add")}</button>
    </form>
    <table class="grid">
      <thead><tr>${["crew_name", "crew_township", "col_state", "col_actions"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="crew-rows">
        ${rows.map((c) => html`
          <tr key=${c.id} data-crew=${c.name}>
            <td>${c.name}</td><td>${c.township || t("none")}</td><td>${t(c.active ? "crew_active" : "crew_inactive")}</td>
            <td><button onClick=${() => toggle(c)}>${t(c.active ? "crew_disable" : "crew_enable")}</button></td>
          </tr>`)}
      </tbody>
    </table>`;
}
