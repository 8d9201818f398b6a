"""The service's own errors. Each one names what is wrong so a caller can say so."""

from __future__ import annotations


class JobLedgerError(Exception):
    """Base of every error the service raises on purpose."""


class InvalidInput(JobLedgerError):
    """A value was refused. `field` names the input at fault (dotted for nested ones)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotPermitted(InvalidInput):
    """A value this caller may not give (an operator overriding a parameter the job does
    not open to overrides). `field` names it; the HTTP API answers 403."""


class NotFound(JobLedgerError):
    """No such job, run or other thing."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class Conflict(JobLedgerError):
    """The change was based on a stale version, or collides with one already made."""

    def __init__(self, message: str, *, expected: int | None = None, actual: int | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class SecretUnavailable(JobLedgerError):
    """A secret cannot be decrypted: its job's data key was destroyed or the master key is wrong.

    Never carries the secret's value or ciphertext, only the job and the secret's name.
    """

    def __init__(self, job_id: object, name: str, reason: str) -> None:
        super().__init__(f"secret {name!r} of job {job_id} is unavailable: {reason}")
        self.job_id = job_id
        self.name = name
        self.reason = reason


class NameTaken(Conflict):
    """Another job already has this name (compared case-insensitively, trimmed)."""

    field = "name"

    def __init__(self, name: str) -> None:
        super().__init__(f"name: a job named {name!r} already exists; choose another name")
        self.name = name
