// Staff management (administrators): add a colleague, disable/enable, reset a password.
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { choices, label, t } from "../labels.js";
import { flash, session } from "../ui.js";

export function Staff({ active }) {
  const [rows, setRows] = useState([]);
  const [secret, setSecret] = useState(null);
  const [form, setForm] = useState({ username: "", display_name: "", role: "agent" });
  const load = () => api("GET", "/staff").then((r) => setRows(r.staff)).catch((e) => flash(e.message, true));
  useEffect(() => { if (active) load(); }, [active]);

  const act = async (username, action) => {
    const question = { disable: "confirm_disable", "reset-password": "confirm_reset" }[action];
    if (question && !window.confirm(t(question, { username }))) return;
    try {
      const r = await api("POST", `/staff/${encodeURIComponent(username)}/${action}`, {});
      if (r.password) setSecret({ username, password: r.password });
      await load();
    } catch (e) { flash(e.message, true); }
  };
  const add = async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/staff", { username: form.username.trim(), display_name: form.display_name.trim(), role: form.role });
      setSecret({ username: r.user.username, password: r.password });
      setForm({ ...form, username: "", display_name: "" });
      await load();
    } catch (e) { flash(e.message, true); }
  };
  const set = (k) => (ev) => setForm({ ...form, [k]: ev.target.value });
  const state = (u) => (u.active ? (u.locked ? "locked" : "active") : "disabled");
  return html`
    <form id="staff-form" class="filters" onSubmit=${add}>
      <input id="staff-username" placeholder=${t("staff_username")} maxlength="40" required value=${form.username} onInput=${set("username")} />
      <input id="staff-display" placeholder=${t("staff_display")} maxlength="80" value=${form.display_name} onInput=${set("display_name")} />
      <select id="staff-role" value=${form.role} onChange=${set("role")}>
        ${choices("role").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
      <button type="submit">${t("staff_add")}</button>
    </form>
    <p id="staff-password" class="secret" hidden=${!secret}>${secret ? t("initial_password", secret) : ""}</p>
    <table class="grid">
      <thead><tr>${["col_username", "col_name", "col_role", "col_state", "col_actions"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="staff-rows">
        ${rows.map((u) => html`
          <tr key=${u.username} data-username=${u.username}>
            <td>${u.username}</td><td>${u.display_name}</td><td>${label("role", u.role)}</td><td>${label("staff_state", state(u))}</td>
            <td>
              ${u.username === session.me.username ? null
                : html`<button onClick=${() => act(u.username, u.active ? "disable" : "enable")}>${t(u.active ? "disable" : "enable")}</button>`}
              <button onClick=${() => act(u.username, "reset-password")}>${t("reset_password")}</button>
            </td>
          </tr>`)}
      </tbody>
    </table>`;
}
