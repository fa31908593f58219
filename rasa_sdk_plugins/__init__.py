"""rasa-sdk's plugin package (``rasa_sdk.plugin`` imports ``rasa_sdk_plugins`` and calls ``init_hooks``):
how our action server gets its extensions (:mod:`bot.action_server`). Found on the path because the
action server runs from the repository root."""

from __future__ import annotations

import pluggy

from bot import action_server


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Register our extensions of the action server's Sanic app."""
    manager.register(action_server)
