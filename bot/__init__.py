"""电力营销智能客服 — the utility's customer-service bot (domain, channels, console, CLI)."""

__version__ = "0.1.0"
