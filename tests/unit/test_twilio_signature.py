"""X-Twilio-Signature checks through our own code (bot.channels.sms), starting from twilio-python's
published test vector."""

from urllib.parse import urlencode

from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bot.channels.sms import form_params, signature_valid, signed_url

# twilio-python's tests/unit/test_request_validator.py
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def vector_request():
    """The vector as our webhook sees it: a path with a query, and a form-encoded body."""
    url = signed_url("https://mycompany.com", "http://10.0.0.5:5005/myapp.php?foo=1&bar=2", "/myapp.php",
                     "foo=1&bar=2")
    return url, form_params(urlencode(PARAMS).encode())


def test_twilio_test_vector_passes_our_validation():
    url, params = vector_request()
    assert url == URL
    assert signature_valid(TOKEN, url, params, EXPECTED)


def test_the_public_base_url_is_what_counts_not_the_address_the_proxy_used():
    _, params = vector_request()
    seen_by_server = "http://10.0.0.5:5005/myapp.php?foo=1&bar=2"
    assert not signature_valid(TOKEN, seen_by_server, params, EXPECTED)
    assert signed_url(None, seen_by_server, "/myapp.php", "foo=1&bar=2") == seen_by_server


def test_wrong_missing_or_tampered_signatures_fail():
    url, params = vector_request()
    assert not signature_valid(TOKEN, url, params, None)
    assert not signature_valid(TOKEN, url, params, "")
    assert not signature_valid(TOKEN, url, params, EXPECTED.replace("R", "r", 1))
    assert not signature_valid("54321", url, params, EXPECTED)
    tampered = form_params(urlencode({**PARAMS, "Digits": "9999"}).encode())
    assert not signature_valid(TOKEN, url, tampered, EXPECTED)
    extra = form_params(urlencode({**PARAMS, "Body": ""}).encode())  # an added blank parameter counts too
    assert not signature_valid(TOKEN, url, extra, EXPECTED)


def test_an_explicit_default_port_still_validates():
    _, params = vector_request()
    url = signed_url("https://mycompany.com:443", "", "/myapp.php", "foo=1&bar=2")
    assert signature_valid(TOKEN, url, params, EXPECTED)


def test_repeated_parameters_are_all_signed():
    pairs = [("From", "+8613900001111"), ("MediaUrl", "https://a/1"), ("MediaUrl", "https://a/2")]
    url = "https://bot.example.cn/webhooks/sms/webhook"
    signature = RequestValidator(TOKEN).compute_signature(url, MultiDict(pairs))
    params = form_params(urlencode(pairs).encode())
    assert params.getall("MediaUrl") == ["https://a/1", "https://a/2"]
    assert signature_valid(TOKEN, url, params, signature)
    # signing only one of the two values (what a plain dict would do) is a different signature
    assert not signature_valid(TOKEN, url, params, RequestValidator(TOKEN).compute_signature(url, dict(pairs)))


def test_a_body_that_is_not_utf8_form_data_has_no_parameters():
    assert len(form_params(b"\xff\xfe")) == 0
