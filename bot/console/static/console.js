// The agent console page: Preact + htm as ES modules, no build step, no CDN, nothing evaluated.
// The server decides what a user may do; this page only hides what the server would refuse anyway.
// Every word shown comes from the server (labels.js); text from the server is rendered as text, never HTML.
// Screens are modules under screens/ and are listed in screens/index.js.
import { html, render, useState } from "./vendor/htm-preact-standalone.module.js";
import { api, csrfToken } from "./api.js";
import { label, loadLabels, t } from "./labels.js";
import { SCREENS } from "./screens/index.js";
import { Flash, can, session } from "./ui.js";

function Shell() {
  const visible = SCREENS.filter((s) => can(s.perm));
  const [tab, setTab] = useState(visible.length ? visible[0].id : null);
  const me = session.me;
  return html`
    <header class="top">
      <strong>${t("app_title")}</strong>
      <nav id="tabs">
        ${SCREENS.map((s) => html`
          <button key=${s.id} data-tab=${s.id} class=${"tab" + (s.id === tab ? " active" : "")}
            hidden=${!can(s.perm)} onClick=${() => setTab(s.id)}>${t(s.title)}</button>`)}
      </nav>
      <span class="me"><span id="me-name">${me.display_name}</span> <span id="me-role" data-role=${me.role}>${label("role", me.role)}</span></span>
      <form method="post" action="/console/logout" class="logout">
        <input type="hidden" name="csrf_token" value=${csrfToken()} />
        <button id="logout" type="submit">${t("logout")}</button>
      </form>
    </header>
    <${Flash} />
    ${SCREENS.filter((s) => can(s.perm)).map((s) => html`
      <section key=${s.id} id=${"tab-" + s.id} class=${"tab-page " + (s.layout || "")} hidden=${s.id !== tab}>
        ${s.keepAlive || s.id === tab ? html`<${s.component} active=${s.id === tab} />` : null}
      </section>`)}`;
}

async function start() {
  await loadLabels(api);
  session.me = await api("GET", "/me");
  const root = document.getElementById("app");
  root.replaceChildren();
  render(html`<${Shell} />`, root);
}

start().catch((e) => {
  const p = document.getElementById("app");
  p.textContent = e.message;
});
