// Every word the console shows comes from the server (GET /console/api/labels, built from
// bot/messages.py): this module only looks them up. A missing label shows its code, never a guess.

let LABELS = { ui: {} };

/** Load the labels once, before the first screen renders. */
export async function loadLabels(api) {
  LABELS = await api("GET", "/labels");
  document.title = t("page_title");
  return LABELS;
}

function fill(text, vars) {
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k]))) : text;
}

/** A UI text by key, with ``{name}`` placeholders filled from ``vars``. */
export function t(key, vars) {
  const text = LABELS.ui[key];
  return text === undefined ? key : fill(text, vars);
}

/** The label of ``code`` in a group (``intent``, ``ticket_status``, ``handoff_status``, ...). */
export function label(group, code) {
  const table = LABELS[group] || {};
  return code === null || code === undefined || code === "" ? t("none") : (table[code] || code);
}

/** The (code, label) pairs of a group, in the server's order (for select boxes). */
export function choices(group) {
  return Object.entries(LABELS[group] || {});
}

/** A duration in seconds as the console writes it (e.g. 2 min 5 s). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return t("none");
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m ? t("duration_ms", { m, s: s % 60 }) : t("duration_s", { s });
}
