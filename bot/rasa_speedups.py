"""Faster equivalents of two Rasa 3.6 internals, installed by :func:`bot.startup.start_rasa_server` (never at
import). tests/unit/test_rasa_speedups.py checks that Rasa still behaves the same with them.

* **The check of action-server responses.** Rasa checks every custom action's response with
  ``jsonschema.validate``, which re-validates the schema itself and builds a new validator on each call.
  Profiled under load here, that was a third of the Rasa event loop's time. The validator is built once
  and checks against the same schema, with the same outcome: a valid response passes, an invalid one
  raises the same ``ValidationError`` (best match, with Rasa's explanatory suffix).
* **HTTP calls to the action server** (``EndpointConfig.session``). Rasa opens a new client session — a new
  TCP connection, on both sides — for every action call, and encodes the call (the whole tracker and the
  domain, tens to hundreds of KB) with the standard ``json`` module. The session made here shares one
  keep-alive connection pool per event loop (idle connections closed after
  :data:`KEEPALIVE_S`, before Sanic's own 5 s keep-alive timeout closes them under a request) and encodes
  with ``ujson`` (already installed: Rasa and Sanic depend on it), falling back to ``json`` for anything
  ujson refuses, so the action server receives the same JSON values. Profiled at 40 messages per
  conversation, encoding the call was the Rasa server's costliest single function.
* **The dialogue states of a conversation** (``Domain.states_for_tracker_history``). Before every
  prediction each policy asks for the states of the whole conversation, and Rasa computes them by replaying
  every event from the start: at 40 messages per conversation that was a quarter of the Rasa server's time,
  and the reason a turn cost more the longer the conversation. The states of a conversation's history do
  not change when events are appended, so the walk over the history is kept per conversation (and per
  policy's options) and only the new events are walked. It is used only when the conversation's applied
  events begin with exactly the events walked before (anything else — a restart, a new session, a
  rewind, another conversation — walks from the start, as Rasa does), and the caller gets its own copy of
  the states (policies edit them), with the same sharing between states as Rasa's.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import weakref
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import ujson
from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

_SCHEMA = RemoteAction.action_response_format_spec()
_VALIDATOR = validators.validator_for(_SCHEMA)(_SCHEMA)

#: Seconds an idle keep-alive connection to an endpoint stays open (Sanic closes its side after 5 s).
KEEPALIVE_S = 2.0

_RASA_SESSION = EndpointConfig.session

_connectors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = (
    weakref.WeakKeyDictionary())


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    error = exceptions.best_match(_VALIDATOR.iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def dumps(value: Any) -> str:
    """``value`` as JSON text: ujson, or the standard module for what ujson refuses (huge integers,
    objects it cannot encode — which then raise the standard module's own error)."""
    try:
        return ujson.dumps(value)
    except (OverflowError, TypeError, ValueError):
        return json.dumps(value)


def _connector() -> aiohttp.TCPConnector:
    loop = asyncio.get_running_loop()
    connector = _connectors.get(loop)
    if connector is None or connector.closed:
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S)
        _connectors[loop] = connector
    return connector


def _session(self: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa's ``EndpointConfig.session`` (same headers, auth and timeout) on the loop's shared pool;
    outside a running event loop, Rasa's own."""
    try:
        connector = _connector()
    except RuntimeError:  # no running loop
        return _RASA_SESSION(self)
    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    return aiohttp.ClientSession(
        headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=connector, connector_owner=False, json_serialize=dumps,
    )


#: Conversations (times policies' options) whose walk over the history is kept, least recently used dropped.
STATE_WALKS = 2000

_RASA_STATES = Domain.states_for_tracker_history


@dataclasses.dataclass
class _Walk:
    """Rasa's loop in ``states_for_tracker_history`` stopped after ``applied`` events."""

    applied: List[Event]
    tracker: DialogueStateTracker  # the replayed tracker after those events
    states: List[State]
    last_ml_action_sub_state: Optional[Dict[str, Any]] = None
    turn_was_hidden: bool = False


_walks: collections.OrderedDict[Tuple[Any, ...], _Walk] = collections.OrderedDict()


def _step(domain: Domain, walk: _Walk, tr: DialogueStateTracker, hide_rule_turn: bool, omit_unset_slots: bool,
          ignore_rule_only_turns: bool, rule_only_data: Optional[Dict[str, Any]]) -> None:
    """One pass of the loop body of Rasa 3.6's ``Domain.states_for_tracker_history``, unchanged."""
    if ignore_rule_only_turns:
        if not walk.turn_was_hidden:
            walk.last_ml_action_sub_state = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
            walk.turn_was_hidden = hide_rule_turn
        if walk.turn_was_hidden:
            return
    state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if walk.states:
            domain._substitute_rule_only_user_input(state, walk.states[-1])
        if walk.last_ml_action_sub_state:
            state[PREVIOUS_ACTION] = walk.last_ml_action_sub_state
    walk.states.append(domain._clean_state(state))


def _copied(walk: _Walk) -> _Walk:
    """A copy of ``walk``'s states for a caller: every sub-state dict copied once, so states that share one
    in Rasa's result share its copy here too."""
    copies: Dict[int, Any] = {}

    def sub(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        copy = copies.get(id(value))
        if copy is None:
            copy = copies[id(value)] = dict(value)
        return copy

    states = [{kind: sub(sub_state) for kind, sub_state in state.items()} for state in walk.states]
    return _Walk(walk.applied, walk.tracker, states, sub(walk.last_ml_action_sub_state), walk.turn_was_hidden)


def _common_prefix(old: List[Event], new: List[Event]) -> int:
    """How many events ``old`` and ``new`` begin with alike: the same objects (within a turn), or events of
    the same class with equal attributes (the next turn's tracker, rebuilt by the tracker store)."""
    n = 0
    for a, b in zip(old, new, strict=False):
        if not (a is b or (type(a) is type(b) and a.__dict__ == b.__dict__)):
            break
        n += 1
    return n


def _states_for_tracker_history(self: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool = False,
                                ignore_rule_only_turns: bool = False,
                                rule_only_data: Optional[Dict[str, Any]] = None) -> List[State]:
    if tracker.is_rule_tracker or not tracker.sender_id:
        return _RASA_STATES(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    try:  # the rule policy passes a new dict of the same content each time
        options = json.dumps(rule_only_data, sort_keys=True)
    except (TypeError, ValueError):
        return _RASA_STATES(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    key = (id(self), tracker.sender_id, omit_unset_slots, ignore_rule_only_turns, options)
    applied = tracker.applied_events()
    walk = _walks.get(key)
    if walk is not None:
        common = _common_prefix(walk.applied, applied)
        if common < len(walk.applied):
            if common == len(applied):
                # an earlier point of the same conversation (the memoization policy looks back in time):
                # Rasa's own walk, and the kept one stays for the conversation's present
                return _RASA_STATES(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
            walk = None  # another history: walk from the start
    if walk is None:
        walk = _Walk([], tracker.init_copy(), [])
    for event in applied[len(walk.applied):]:
        if isinstance(event, ActionExecuted):
            _step(self, walk, walk.tracker, event.hide_rule_turn, omit_unset_slots, ignore_rule_only_turns,
                  rule_only_data)
        walk.tracker.update(event)
    walk.applied = applied
    _walks[key] = walk
    _walks.move_to_end(key)
    while len(_walks) > STATE_WALKS:
        _walks.popitem(last=False)
    result = _copied(walk)  # Rasa's last pass (the tracker after every event) on the caller's copy only
    _step(self, result, walk.tracker, False, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    return result.states


def install() -> None:
    """Use the prebuilt validator, the pooled, faster action-server session and the kept walks over
    conversations' histories (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    EndpointConfig.session = _session
    Domain.states_for_tracker_history = _states_for_tracker_history
