"""The faster action-response check accepts and refuses exactly what Rasa's own check does."""

import asyncio
import json
from pathlib import Path

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups

CASES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "next_step", "value": "done"}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "slot", "value": "x"}], "responses": []},  # an event without a name is still allowed
    {"events": "not a list"},
    {"responses": [{"text": 1}], "events": [{"no_event_key": 1}]},
]


@pytest.mark.parametrize("result", CASES)
def test_same_verdict_as_jsonschema_validate(result):
    try:
        validate(result, RemoteAction.action_response_format_spec())
        expected = None
    except ValidationError as error:
        expected = error.message
    action = RemoteAction("action_x", None)
    if expected is None:
        assert rasa_speedups._validate_action_result(action, result) is True
    else:
        with pytest.raises(ValidationError) as raised:
            rasa_speedups._validate_action_result(action, result)
        assert raised.value.message.startswith(expected)


def test_rasa_still_checks_responses_through_the_method_we_replace():
    """A Rasa upgrade that moves the check would silently bypass the replacement: fail here instead."""
    import inspect

    assert "self._validate_action_result(" in inspect.getsource(RemoteAction.run)


# --- HTTP calls to the action server ------------------------------------------------------------------

DOMAIN_PATH = Path(__file__).resolve().parents[2] / "domain.yml"


def _action_call() -> dict:
    """An action call as Rasa builds it: the whole tracker and the domain."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    domain = Domain.load(str(DOMAIN_PATH))
    tracker = DialogueStateTracker.from_events("wechat:oSpeedTest", [
        ActionExecuted("action_listen"),
        UserUttered("村里停电了/电线掉了", {"name": "report_outage", "confidence": 0.93},
                    entities=[{"entity": "address", "value": "幸福村", "start": 0, "end": 3}]),
        SlotSet("address", "幸福村"), SlotSet("detail", None), ActionExecuted("utter_ask_detail")], domain.slots)
    return {"next_action": "action_submit_outage", "sender_id": tracker.sender_id,
            "tracker": tracker.current_state(EventVerbosity.ALL), "domain": domain.as_dict(), "version": "3.6"}


@pytest.mark.parametrize("value", [_action_call(), {"big": 2**80, "nan": float("nan"), "text": "停电"}])
def test_an_action_call_encodes_to_the_same_json_values(value):
    decoded, expected = json.loads(rasa_speedups.dumps(value)), json.loads(json.dumps(value))
    assert json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_what_json_cannot_encode_fails_as_before():
    with pytest.raises(TypeError):
        rasa_speedups.dumps({"when": object()})


def test_calls_to_the_action_server_reuse_one_connection_and_carry_rasas_headers():
    """Rasa's EndpointConfig.request, as RemoteAction calls it, through the installed session."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    rasa_speedups.install()
    seen: list = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.transport.get_extra_info("peername"), request.headers.get("Authorization"),
                     await request.json()))
        return web.json_response({"events": [], "responses": []})

    async def scenario() -> list:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"})
        answers = [await endpoint.request(json=_action_call(), method="post") for _ in range(3)]
        await runner.cleanup()
        return answers

    answers = asyncio.run(scenario())
    assert answers == [{"events": [], "responses": []}] * 3
    assert len({peer for peer, _, _ in seen}) == 1  # one keep-alive connection for the three calls
    assert all(auth == "Bearer t" for _, auth, _ in seen)
    assert seen[0][2]["tracker"]["events"][1]["text"] == "村里停电了/电线掉了"


def test_rasa_still_opens_its_action_call_sessions_through_the_method_we_replace():
    import inspect

    from rasa.utils.endpoints import EndpointConfig

    assert "self.session()" in inspect.getsource(EndpointConfig.request)


# --- the dialogue states of a conversation -------------------------------------------------------------


def _conversation() -> list:
    """A conversation as Rasa records it: forms, slots, rule-only turns, a rewind, a follow-up action, a
    restart and a new session."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        FollowupAction,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )

    def user(text: str, intent: str, **entities: str) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.9},
                           entities=[{"entity": k, "value": v} for k, v in entities.items()])

    return [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        user("你好", "greet"), ActionExecuted("utter_greet", hide_rule_turn=True), BotUttered("您好"),
        ActionExecuted("action_listen"),
        user("停电了", "report_outage"), ActionExecuted("outage_form"), ActiveLoop("outage_form"),
        SlotSet("requested_slot", "address"), ActionExecuted("action_listen"),
        user("东关村", "inform", address="东关村"), SlotSet("address", "东关村"), ActionExecuted("outage_form"),
        SlotSet("requested_slot", "detail"), ActionExecuted("action_listen"),
        user("天气怎么样", "chitchat"), ActionExecuted("utter_chitchat", hide_rule_turn=True), ActionExecuted("outage_form"),
        ActionExecuted("action_listen"),
        user("全村都停了", "inform"), SlotSet("detail", "全村都停了"), ActionExecuted("outage_form"),
        ActiveLoop(None), SlotSet("requested_slot", None), ActionExecuted("action_submit_outage"),
        FollowupAction("action_listen"), ActionExecuted("action_listen"),
        user("谢谢", "thank"), ActionExecuted("utter_thank"), ActionExecuted("action_listen"),
        user("撤回", "deny"), UserUtteranceReverted(),
        user("电费多少", "query_bill"), ActionExecuted("action_query_bill"), ActionReverted(),
        ActionExecuted("action_listen"),
        Restarted(), ActionExecuted("action_listen"), user("你好", "greet"), ActionExecuted("utter_greet"),
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        user("查电费", "query_bill"), ActionExecuted("action_query_bill"), ActionExecuted("action_listen"),
    ]


OPTIONS = [(omit, ignore, rule_only) for omit in (False, True) for ignore in (False, True)
           for rule_only in (None, {"rule_only_slots": ["detail", "next_step"], "rule_only_loops": ["outage_form"]})]


@pytest.mark.parametrize("omit,ignore,rule_only", OPTIONS)
def test_the_states_of_a_growing_conversation_are_rasas(omit, ignore, rule_only):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(DOMAIN_PATH))
    rasa_speedups.install()
    tracker = DialogueStateTracker("wechat:oStates", domain.slots)
    for event in _conversation():
        tracker.update(event)
        ours = domain.states_for_tracker_history(tracker, omit, ignore, rule_only)
        # the policies edit the states they get (e.g. remove the text of a user turn that has an intent)
        for state in ours:
            state.get("user", {}).pop("text", None)
            state.get("user", {}).pop("intent", None)
        again = domain.states_for_tracker_history(tracker, omit, ignore, rule_only)
        rasas = rasa_speedups._RASA_STATES(domain, tracker, omit, ignore, rule_only)
        assert again == rasas
    # a tracker of the same conversation rebuilt from its events (the next turn's) reads the same too
    rebuilt = DialogueStateTracker.from_dict("wechat:oStates", [e.as_dict() for e in tracker.events], domain.slots)
    assert domain.states_for_tracker_history(rebuilt, omit, ignore, rule_only) == rasa_speedups._RASA_STATES(
        domain, rebuilt, omit, ignore, rule_only)


def test_another_conversation_under_the_same_sender_id_is_walked_from_the_start():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(DOMAIN_PATH))
    rasa_speedups.install()
    first = DialogueStateTracker.from_events("wechat:oStates2", _conversation()[:12], domain.slots)
    domain.states_for_tracker_history(first)
    other = DialogueStateTracker.from_events("wechat:oStates2", _conversation()[:3] + _conversation()[40:],
                                             domain.slots)
    assert domain.states_for_tracker_history(other) == rasa_speedups._RASA_STATES(domain, other)


def test_rasa_still_asks_the_domain_for_a_trackers_states():
    import inspect

    from rasa.shared.core.trackers import DialogueStateTracker

    assert "domain.states_for_tracker_history(" in inspect.getsource(DialogueStateTracker.past_states)


def test_an_earlier_point_of_the_conversation_reads_rasas_states_and_the_present_stays_kept():
    """The memoization policy asks for the states of the conversation cut back in time, between asking
    for its present."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(DOMAIN_PATH))
    rasa_speedups.install()
    present = DialogueStateTracker.from_events("wechat:oStates3", _conversation()[:30], domain.slots)
    assert domain.states_for_tracker_history(present, False, True) == rasa_speedups._RASA_STATES(
        domain, present, False, True)
    earlier = DialogueStateTracker.from_events("wechat:oStates3", list(present.events)[:20], domain.slots)
    assert domain.states_for_tracker_history(earlier, False, True) == rasa_speedups._RASA_STATES(
        domain, earlier, False, True)
    for event in _conversation()[30:36]:
        present.update(event)
    assert domain.states_for_tracker_history(present, False, True) == rasa_speedups._RASA_STATES(
        domain, present, False, True)
