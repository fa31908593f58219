"""Outbound messaging: SMS (Twilio or the demo outbox), WeChat customer-service messages, and the
record of every message sent outside a passive reply."""
