"""Who is calling, and what their role lets them do: the access-control values that the
token store (an adapter), the HTTP API and the web pages all speak."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "operator", "admin"]
# Lowest first: each role may do everything the roles before it may.
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")


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
