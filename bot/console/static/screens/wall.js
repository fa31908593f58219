// The supervisors' live wall: every waiting and active conversation with its wait and first-response
// time against the targets of the service rules (coloured when over); from a row, read the conversation
// (read-only), whisper to its agent, or take it over.
import { html, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { duration, label, t } from "../labels.js";
import { can, flash, time, usePoll } from "../ui.js";
import { customerLabel } from "./conversations.js";

const WALL_EVERY_MS = 2000;

function firstResponse(c) {
  if (c.first_response_s !== null && c.first_response_s !== undefined) return duration(c.first_response_s);
  if (c.responding_s !== null && c.responding_s !== undefined) return t("responding", { n: c.responding_s });
  return t("none");
}

function Row({ c, current, onOpen }) {
  return html`
    <tr id=${"wall-" + c.id} data-handoff=${c.id} class=${current ? "current" : ""}>
      <td><button class="link" onClick=${() => onOpen(c.id)}>${customerLabel(c)}</button></td>
      <td>${label("handoff_status", c.status)}</td>
      <td>${c.owner || t("none")}</td>
      <td class=${"wait" + (c.wait_over ? " bad over" : "")} data-over=${String(c.wait_over)}>${duration(c.wait_s)}</td>
      <td class=${"first-response" + (c.first_response_over ? " bad over" : "")} data-over=${String(c.first_response_over)}>${firstResponse(c)}</td>
      <td><button id=${"wall-open-" + c.id} onClick=${() => onOpen(c.id)}>${t("open_readonly")}</button></td>
    </tr>`;
}

function Detail({ id, onDone }) {
  const [view, setView] = useState(null);
  const [text, setText] = useState("");
  usePoll(() => { api("GET", `/conversations/${id}`).then(setView).catch((e) => flash(e.message, true)); }, WALL_EVERY_MS, [id]);
  if (!view) return html`<p class="muted">${t("loading")}</p>`;
  const h = view.handoff;
  const whisper = async () => {
    if (!text.trim()) return;
    try { await api("POST", `/conversations/${id}/notes`, { kind: "whisper", text: text.trim() }); setText(""); flash(t("whispered")); }
    catch (e) { flash(e.message, true); }
  };
  const takeover = async () => {
    try { await api("POST", `/conversations/${id}/take`, { force: true }); flash(t("taken_over")); onDone(); }
    catch (e) { flash(e.message, true); }
  };
  return html`
    <div id="wall-detail" data-handoff=${id}>
      <h3>${customerLabel(h)} · ${label("handoff_status", h.status)}</h3>
      <ul id="wall-transcript" class="transcript readonly">
        ${view.transcript.map((e) => html`<li key=${e.id} class=${"msg " + e.direction}>
          <span class="small muted">${label("author", e.author.split(":")[0])} · ${time(e.at)}</span>
          <div class="text">${e.text}</div></li>`)}
      </ul>
      <ul id="wall-notes" class="tickets">
        ${view.notes.map((n) => html`<li key=${n.id} class=${"note " + n.kind}>
          <span class="small muted">${label("note_kind", n.kind)} · ${n.author.replace(/^staff:/, "")} · ${time(n.at)}</span>
          <div class="text">${n.text}</div></li>`)}
      </ul>
      ${h.status === "active" && can("conversation.takeover_any") ? html`
        <textarea id="wall-whisper-text" rows="2" maxlength="1000" placeholder=${t("whisper_placeholder")} value=${text}
          onInput=${(ev) => setText(ev.target.value)}></textarea>
        <div class="line"><button id="wall-whisper" type="button" onClick=${whisper}>${t("whisper")}</button></div>` : null}
      ${can("conversation.takeover_any") && !view.mine ? html`
        <button id="wall-takeover" class="force" type="button" onClick=${takeover}>${t("takeover")}</button>` : null}
    </div>`;
}

export function Wall({ active }) {
  const [wall, setWall] = useState(null);
  const [open, setOpen] = useState(null);
  usePoll(() => { if (active) api("GET", "/wall").then(setWall).catch((e) => flash(e.message, true)); }, WALL_EVERY_MS, [active]);
  return html`
    <p id="wall-targets" class="muted small">${wall ? t("wall_targets", { wait: wall.targets.wait_s, first: wall.targets.first_response_s }) : ""}</p>
    <table class="grid">
      <thead><tr>${["col_conversation", "col_status", "col_agent", "col_wait", "col_first_response", "col_action"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
      <tbody id="wall-rows">
        ${wall && wall.conversations.length ? wall.conversations.map((c) => html`<${Row} key=${c.id} c=${c} current=${c.id === open} onOpen=${setOpen} />`)
          : html`<tr><td colspan="6" class="muted">${t("wall_empty")}</td></tr>`}
      </tbody>
    </table>
    ${open ? html`<${Detail} key=${open} id=${open} onDone=${() => setOpen(open)} />` : null}`;
}
