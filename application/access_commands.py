"""Commands over access: create and revoke API tokens, record sign-ins.

The token store (a port) holds the tokens and answers every request quickly; each command
here also records the fact as an event (`domain.access_log`), which is what the audit trail
shows. A token is never in an event: only its id, name and role.
"""

from __future__ import annotations

from typing import Any

from application.base import LedgerBase
from application.ports import TokenStore
from domain import access_log
from domain.access import Principal


class AccessCommands(LedgerBase):
    """Mixed into the application: who got access, and who tried."""

    def create_token(
        self, tokens: TokenStore, name: str, role: str, *, actor: str
    ) -> tuple[Principal, str]:
        """A new token in `tokens`, recorded as created by `actor`: (its principal, the
        plain token, to show once). If the record cannot be saved the token is revoked
        again, so no token exists that the audit trail does not show being made."""
        principal, plain = tokens.create(name, role)
        try:
            self._save(
                access_log.token_created(
                    token_id=principal.token_id,
                    token_name=principal.name,
                    role=principal.role,
                    actor=actor,
                )
            )
        except BaseException:
            tokens.revoke(principal.token_id)
            raise
        return principal, plain

    def revoke_token(
        self, tokens: TokenStore, token_id_or_name: str, *, actor: str
    ) -> dict[str, Any] | None:
        """Revoke the live token with this id, or else with this name, and record it; the
        token as `tokens.list` shows it, or None if no live token matched."""
        key = str(token_id_or_name)
        live = [token for token in tokens.list() if not token["revoked"]]
        token = next((t for t in live if t["id"] == key), None) or next(
            (t for t in live if t["name"] == key), None
        )
        # Revoked by id: a token of that name made meanwhile is not the one meant.
        if token is None or not tokens.revoke(token["id"]):
            return None
        self._save(
            access_log.token_revoked(
                token_id=token["id"], token_name=token["name"], role=token["role"], actor=actor
            )
        )
        return token

    def record_sign_in(self, principal: Principal, *, client: str) -> None:
        """A person signed in to the pages with `principal`'s token, from `client`."""
        self._save(
            access_log.signed_in(
                token_id=principal.token_id,
                token_name=principal.name,
                actor=principal.actor,
                client=client,
            )
        )

    def record_failed_sign_in(self, *, client: str, revoked: Principal | None = None) -> None:
        """A sign-in from `client` with a token that is not live: `revoked`, if it was a
        revoked token, is named; any other token is not recorded (it may be a live one
        mistyped)."""
        self._save(access_log.sign_in_failed(client=client, revoked=revoked))
