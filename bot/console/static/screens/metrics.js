// Service quality: the bot, the agents, tickets and satisfaction over a chosen period.
import { html, useEffect, useState } from "../vendor/htm-preact-standalone.module.js";
import { api } from "../api.js";
import { choices, duration, label, t } from "../labels.js";
import { dateTime, flash } from "../ui.js";

function pct(x) { return x === null || x === undefined ? t("none") : (x * 100).toFixed(1) + "%"; }
function num(x, unitKey) { return x === null || x === undefined ? t("none") : (unitKey ? t(unitKey, { n: x }) : String(x)); }

function Card({ title, value, note }) {
  return html`<div class="card"><div class="value">${String(value)}</div><div class="label">${title}</div>
    ${note ? html`<div class="muted small">${note}</div>` : null}</div>`;
}

export function Metrics({ active }) {
  const [days, setDays] = useState("7");
  const [m, setM] = useState(null);
  useEffect(() => {
    if (!active) return;
    api("GET", "/metrics?days=" + encodeURIComponent(days)).then(setM).catch((e) => flash(e.message, true));
  }, [active, days]);
  const reasons = m ? Object.entries(m.handoffs_by_reason).map(([k, v]) => label("reason", k) + " " + v).join(t("list_sep_comma")) : "";
  return html`
    <form id="metrics-filter" class="filters">
      <label>${t("metrics_period")}
        <select id="metrics-days" value=${days} onChange=${(ev) => setDays(ev.target.value)}>
          ${choices("metrics_period").map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select></label>
      <span id="metrics-generated" class="muted small">${m ? t("generated_at", { at: dateTime(m.generated_at) }) : ""}</span>
    </form>
    <div id="metrics-cards" class="cards">
      ${m ? html`
        <${Card} title=${t("m_conversations")} value=${m.conversations} note=${t("m_customer_messages", { n: m.customer_messages })} />
        <${Card} title=${t("m_containment")} value=${pct(m.bot_containment)} note=${t("m_handed", { n: m.handed_to_agents })} />
        <${Card} title=${t("m_handoffs")} value=${Object.values(m.handoffs_by_reason).reduce((a, b) => a + b, 0)} note=${reasons || t("none_word")} />
        <${Card} title=${t("m_wait")} value=${num(m.wait_p50_s, "seconds") + " / " + num(m.wait_p90_s, "seconds")} note=${t("m_waiting_now", { n: m.waiting_now })} />
        <${Card} title=${t("m_sla")} value=${pct(m.sla_met_rate)} note=${t("m_sla_note", { met: m.sla_met, missed: m.sla_missed, pending: m.sla_pending })} />
        <${Card} title=${t("m_overdue")} value=${m.overdue_open_now} />
        <${Card} title=${t("m_rating")} value=${num(m.average_rating)} note=${t("m_rating_note", { n: m.ratings, bot: num(m.average_rating_bot), agents: num(m.average_rating_agents) })} />` : null}
    </div>
    <div class="metric-tables">
      <div><h3>${t("m_agents")}</h3>
        <table class="grid">
          <thead><tr>${["col_agent", "col_taken", "col_closed", "col_first_response_p50", "col_handle_p50", "col_ratings", "col_avg_rating", "col_quality"].map((k) => html`<th>${t(k)}</th>`)}</tr></thead>
          <tbody id="metrics-agents">
            ${m && m.agents.length ? m.agents.map((a) => html`<tr><td>${t("agent_with_username", a)}</td><td>${a.taken}</td>
              <td>${a.closed}</td><td>${duration(a.first_response_p50_s)}</td><td>${duration(a.handle_p50_s)}</td>
              <td>${a.ratings}</td><td>${num(a.average_rating)}</td>
              <td class="quality">${a.quality_checks ? t("quality_n", { score: a.average_quality, n: a.quality_checks }) : t("none")}</td></tr>`)
              : html`<tr><td colspan="8" class="muted">${t("none_yet")}</td></tr>`}
          </tbody></table></div>
      <div><h3>${t("m_tickets")}</h3>
        <table class="grid"><thead><tr><th>${t("col_type")}</th><th>${t("col_new")}</th></tr></thead>
          <tbody id="metrics-tickets">${m ? Object.entries(m.tickets_opened).map(([k, v]) => html`<tr><td>${label("ticket_type", k)}</td><td>${v}</td></tr>`) : null}</tbody>
        </table></div>
      <div><h3>${t("m_ratings")}</h3>
        <table class="grid"><thead><tr><th>${t("col_score")}</th><th>${t("col_count")}</th></tr></thead>
          <tbody id="metrics-ratings">${m ? Object.entries(m.rating_distribution).reverse().map(([k, v]) => html`<tr><td>${t("score_n", { n: k })}</td><td>${v}</td></tr>`) : null}</tbody>
        </table></div>
    </div>`;
}
