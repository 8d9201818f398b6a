"""Who is calling, and what their role lets them do. Shared by the API and the web pages."""

from __future__ import annotations

from dataclasses import dataclass

# Lowest first: each role may do everything the roles before it may.
ROLES = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class Principal:
    """The holder of an API token. `name` is the actor recorded on every event they cause."""

    name: str
    role: str
    token_id: str

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def may(self, needed: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(needed)
