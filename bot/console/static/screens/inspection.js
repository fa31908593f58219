// Equipment inspection (seed 1.2), phone-sized: equipment, place (GPS or township/village), readings,
// a photo and the severity; the server opens a defect ticket in the dispatch queue.
import { html, useState } from "../vendor/htm-preact-standalone.module.js";
import { csrfToken } from "../api.js";
import { choices, t } from "../labels.js";
import { flash } from "../ui.js";

export function Inspection() {
  const [gps, setGps] = useState(null);
  const [done, setDone] = useState(null);
  const locate = () => {
    if (!navigator.geolocation) { flash(t("inspection_gps_failed"), true); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => setGps({ lat: p.coords.latitude.toFixed(6), lng: p.coords.longitude.toFixed(6) }),
      () => flash(t("inspection_gps_failed"), true), { timeout: 10000 });
  };
  const submit = async (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    if (gps) { data.set("latitude", gps.lat); data.set("longitude", gps.lng); }
    const resp = await fetch("/console/api/inspections", {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" } });
    let body = {};
    try { body = await resp.json(); } catch (e) { body = {}; }
    if (resp.status === 401) { window.location.href = "/console/login"; return; }
    if (!resp.ok) { flash(body.message || body.error || String(resp.status), true); return; }
    setDone(body.ticket_no);
    ev.target.reset();
    setGps(null);
  };
  return html`
    <form id="inspection-form" class="phone" onSubmit=${submit}>
      <label>${t("inspection_equipment")}
        <select name="equipment_kind">${choices("equipment_kind").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
      <input name="equipment_ref" placeholder=${t("inspection_ref")} maxlength="100" required />
      <button type="button" id="inspection-gps" onClick=${locate}>${t("inspection_gps")}</button>
      <span class="muted">${gps ? t("inspection_gps_done", gps) : ""}</span>
      <input name="township" placeholder=${t("inspection_township")} maxlength="40" />
      <input name="village" placeholder=${t("inspection_village")} maxlength="40" />
      <textarea name="readings" placeholder=${t("inspection_readings")} rows="3"></textarea>
      <label>${t("inspection_severity")}
        <select name="severity">${choices("severity").map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select></label>
      <textarea name="description" placeholder=${t("inspection_description")} maxlength="1000" rows="3"></textarea>
      <label>${t("inspection_photo")} <input name="photo" type="file" accept="image/*" capture="environment" /></label>
      <button type="submit">${t("inspection_submit")}</button>
      <p id="inspection-done" hidden=${!done}>${done ? t("inspection_created", { ticket_no: done }) : ""}</p>
    </form>`;
}
