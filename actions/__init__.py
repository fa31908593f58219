"""Rasa custom actions. Thin: they read the dialogue (slots, entities, the sender) and call the
utility's domain layer in ``bot.domain``; they never build SQL or hold state between calls."""
