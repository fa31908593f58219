// Canned replies (supervisors): add, change and delete the replies agents insert. Variables are written
// as they are; the server fills them in for each conversation. Every change is audited.
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { t } from "../labels.js";
import { flash } from "../ui.js";

function Row({ r, onSave, onDelete }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(r.title);
  const [text, setText] = useState(r.text);
  const save = async (ev) => {
    ev.preventDefault();
    if (await onSave(r.id, { title, text })) setEditing(false);
  };
  if (editing) {
    return html`<tr data-canned=${r.id}><td colspan="3">
      <form class="canned-edit" onSubmit=${save}>
        <input class="canned-edit-title" maxlength="40" required value=${title} onInput=${(ev) => setTitle(ev.target.value)} />
        <textarea class="canned-edit-text" rows="2" maxlength="500" required value=${text} onInput=${(ev) => setText(ev.target.value)}></textarea>
        <button type="submit" class="canned-save">${t("canned_save")}</button>
        <button type="button" class="link" onClick=${() => setEditing(false)}>${t("cancel")}</button>
      </form></td></tr>`;
  }
  return html`<tr data-canned=${r.id}>
    <td class="canned-row-title">${r.title}</td><td class="canned-row-text">${r.text}</td>
    <td><button class="canned-edit-open" onClick=${() => { setTitle(r.title); setText(r.text); setEditing(true); }}>${t("canned_edit")}</button>
      <button class="canned-delete" onClick=${() => onDelete(r)}>${t("canned_delete")}</button></td></tr>`;
}

export function Canned({ active }) {
  const [rows, setRows] = useState([]);
  const [form, setForm] = useState({ title: "", text: "" });
  const load = () => api("GET", "/canned").then((r) => setRows(r.replies)).catch((e) => flash(e.message, true));
  useEffect(() => { if (active) load(); }, [active]);
  const save = async (id, body) => {
    try {
      await api("POST", id === null ? "/canned" : `/canned/${id}`, body);
      flash(t("canned_saved"));
      await load();
      return true;
    } catch (e) { flash(e.message, true); return false; }
  };
  const remove = async (r) => {
    if (!window.confirm(t("canned_confirm_delete", { title: r.title }))) return;
    try { await api("POST", `/canned/${r.id}/delete`, {}); flash(t("canned_deleted")); await load(); }
    catch (e) { flash(e.message, true); }
  };
  const add = async (ev) => {
    ev.preventDefault();
    if (await save(null, form)) setForm({ title: "", text: "" });
  };
  return html`
    <form id="canned-form" class="filters" onSubmit=${add}>
      <input id="canned-title" placeholder=${t("canned_title")} maxlength="40" required value=${form.title}
        onInput=${(ev) => setForm({ ...form, title: ev.target.value })} />
      <textarea id="canned-text" rows="2" maxlength="500" required placeholder=${t("canned_text")} value=${form.text}
        onInput=${(ev) => setForm({ ...form, text: ev.target.value })}></textarea>
      <button id="canned-add" type="submit">${t("canned_add")}</button>
    </form>
    <table class="grid">
      <thead><tr>${["canned_title", "canned_text", "col_actions"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="canned-rows">${rows.map((r) => html`<${Row} key=${r.id} r=${r} onSave=${save} onDelete=${remove} />`)}</tbody>
    </table>`;
}
