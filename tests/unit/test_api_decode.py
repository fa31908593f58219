"""The back-office API reads bodies as JSON (RFC 8259): what Python's json module reads beyond it is refused."""

import pytest

from bot.api.service import ApiError, decode


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_number_json_does_not_have_is_not_json(constant):
    with pytest.raises(ApiError) as refused:
        decode(f'{{"status": "dispatched", "event_id": "e-1", "note": {constant}}}'.encode(), "TicketEvent")
    assert (refused.value.status, refused.value.body()["detail"]) == (422, "body is not JSON")


def test_a_json_body_matching_the_document_is_read():
    assert decode(b'{"status": "dispatched", "event_id": "e-1"}', "TicketEvent") == {
        "status": "dispatched", "event_id": "e-1"}
