"""The faster action-response check accepts and refuses exactly what Rasa's own check does."""

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
