"""Tariff questions: answers from the tariff table, and what a given usage costs with the breakdown."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Optional, Text

import cn2an
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.common import Events, entity, latest_text, selected_key, utter
from actions.offers import offer_second_request
from bot.domain import tariffs
from bot.domain.tariffs import Charge
from bot.nlu.normalize import to_halfwidth
from bot.nlu.patterns import find

_MAX_KWH = Decimal(100000)


def parse_kwh(text: str) -> Optional[Decimal]:
    """kWh from '300', '三百', '3百', '1200.5', '两千三' (Chinese numerals via cn2an)."""
    text = to_halfwidth(str(text or "")).strip()
    candidates = find("kwh", text) or re.findall(r"[0-9.]+[百千万]?|[零〇一二两三四五六七八九十百千万]+", text)
    for candidate in candidates:
        try:
            value = Decimal(str(cn2an.cn2an(candidate, "smart")))
        except (ValueError, InvalidOperation, KeyError):
            continue
        if 0 < value <= _MAX_KWH:
            return value
    return None


def _lines(charge: Charge) -> str:
    return "；".join(f"{line.label}{_num(line.kwh)}度×{line.price:.2f}元={line.amount:.2f}元" for line in charge.lines)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def answer_cost(kwh: Decimal, text: str, dispatcher: CollectingDispatcher) -> None:
    charge = tariffs.tiered_charge(kwh)
    utter(dispatcher, "utter_tariff_cost", kwh=_num(kwh), total=f"{charge.total:.2f}", lines=_lines(charge))
    numbers = [parse_kwh(n) for n in find("kwh", to_halfwidth(text))]
    if re.search(r"峰|谷", text) and len(numbers) == 2 and numbers[0] and numbers[1]:
        peak, valley = numbers[0], numbers[1]  # "峰200度谷100度"
        tou = tariffs.tou_charge(peak, valley)
        utter(dispatcher, "utter_tariff_cost_tou", peak=_num(peak), valley=_num(valley), total=f"{tou.total:.2f}",
              lines=_lines(tou))


class ActionTariff(Action):
    """query_tariff: compute a cost when the usage is given (or ask for it), else the tariff answer."""

    def name(self) -> Text:
        return "action_tariff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> Events:
        key = selected_key(tracker) or "query_tariff/general"
        text = latest_text(tracker)
        typed = entity(tracker, "kwh")
        if typed or key == "query_tariff/cost":
            kwh = parse_kwh(text) if typed else None
            if kwh is None:
                return [SlotSet("next_step", "ask_kwh"), SlotSet("kwh", None)]
            answer_cost(kwh, text, dispatcher)
            return offer_second_request(tracker, dispatcher, [SlotSet("next_step", "done"), SlotSet("kwh", None)])
        name = f"utter_{key}" if f"utter_{key}" in domain.get("responses", {}) else "utter_query_tariff/general"
        utter(dispatcher, name)
        return offer_second_request(tracker, dispatcher, [SlotSet("next_step", "done")])


class ValidateTariffForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_tariff_form"

    def validate_kwh(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not value:
            return {"kwh": None}
        kwh = parse_kwh(str(value))
        if kwh is None:
            utter(dispatcher, "utter_tariff_kwh_invalid")
            return {"kwh": None}
        return {"kwh": str(kwh)}


class ActionTariffCost(Action):
    def name(self) -> Text:
        return "action_tariff_cost"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> Events:
        value = tracker.get_slot("kwh")
        if value:
            answer_cost(Decimal(value), latest_text(tracker), dispatcher)
        return [SlotSet("next_step", "done"), SlotSet("kwh", None)]
