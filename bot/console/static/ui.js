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

let audio = null;

/** Tell the agent someone needs them: the flash line and a short tone (Web Audio; no file, no inline code). */
export function alertNew(text) {
  flash(text);
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch (e) { /* no sound before the page was clicked once: the flash and the title still tell */ }
}
