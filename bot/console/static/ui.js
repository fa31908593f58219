// Small shared pieces: the flash line, the signed-in user, permission checks.
import { html, useEffect, useState } from "./vendor/htm-preact-standalone.module.js";

const listeners = new Set();
export const session = { me: null };

export function can(permission) { return !!session.me && session.me.permissions.includes(permission); }

/** Show a message in the flash line for a few seconds (``bad``: as an error). */
export function flash(text, bad) { for (const fn of listeners) fn({ text, bad: !!bad, at: Date.now() }); }

export function Flash() {
  const [msg, setMsg] = useState(null);
  useEffect(() => {
    const fn = (m) => setMsg(m);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  useEffect(() => {
    if (!msg) return undefined;
    const timer = setTimeout(() => setMsg(null), 6000);
    return () => clearTimeout(timer);
  }, [msg]);
  return html`<p id="flash" class=${msg && msg.bad ? "flash bad" : "flash"} role="status" hidden=${!msg}>${msg ? msg.text : ""}</p>`;
}

/** Run ``fn`` now and every ``ms`` while the component is mounted. */
export function usePoll(fn, ms, deps) {
  useEffect(() => {
    let stopped = false;
    const tick = () => { if (!stopped) fn(); };
    tick();
    const timer = setInterval(tick, ms);
    return () => { stopped = true; clearInterval(timer); };
  }, deps || []);
}

export function time(iso) { return iso ? iso.slice(11, 19) : ""; }
export function dateTime(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : ""; }
