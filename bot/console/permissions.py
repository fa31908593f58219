"""Who is asking, and what they may do — decided on the server for every console request.

The role → permission map is the domain's (:data:`bot.domain.staff.PERMISSIONS`); the console only
asks it. Buttons the page hides for a role are a convenience, never the protection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet

from bot import messages
from bot.domain.models import StaffUser
from bot.domain.staff import PERMISSIONS


class ConsoleError(Exception):
    """A refused console request: HTTP ``status``, a stable ``code`` and details (``info``); the message
    for staff is ``messages.CONSOLE_ERRORS[code]`` unless given."""

    def __init__(self, status: int, code: str, message: str = "", **info: object) -> None:
        super().__init__(code)
        self.status, self.code, self.info = status, code, info
        values = {"owner": messages.CONSOLE_SOMEONE, **{k: v for k, v in info.items() if v is not None}}
        self.message = message or messages.CONSOLE_ERRORS.get(code, code).format(**values)


@dataclass(frozen=True)
class Principal:
    """The signed-in staff user of one request (a detached snapshot, safe across threads)."""

    id: int
    username: str
    display_name: str
    role: str
    permissions: FrozenSet[str]

    @classmethod
    def of(cls, user: StaffUser) -> Principal:
        perms = frozenset(PERMISSIONS.get(user.role, set())) if user.active else frozenset()
        return cls(user.id, user.username, user.display_name, user.role, perms)

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"staff:{self.username}"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise ConsoleError(403, "forbidden", permission=permission)
