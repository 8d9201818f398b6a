"""The service's own errors. Each one names what is wrong so a caller can say so."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class JobLedgerError(Exception):
    """Base of every error the service raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One refused field: `field` names it (dotted for nested ones), `message` says why."""

    field: str
    message: str


class InvalidInput(JobLedgerError):
    """One or more values were refused. `errors` lists every field at fault, in the order
    they were checked; `field` and `message` are the first one's, for callers that name one.

    `InvalidInput(field, message)` refuses one field; `InvalidInput.of(errors)` several.
    """

    def __init__(self, field: str, message: str) -> None:
        self._set((FieldError(field, message),))

    @classmethod
    def of(cls, errors: Sequence[FieldError]) -> InvalidInput:
        if not errors:
            raise ValueError("InvalidInput needs at least one field error")
        error = cls.__new__(cls)
        error._set(tuple(errors))
        return error

    def _set(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
        self.field = errors[0].field
        self.message = errors[0].message


class FieldErrors:
    """Runs a form's or a command's checks one by one and keeps each field's first refusal,
    so one answer names every field at fault instead of the first only."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def check(self, check: Callable[[], T]) -> T | None:
        """`check()`'s value, or None (its errors kept) if it refused its input. A
        NotPermitted is not bad input but a refusal (403): it passes through."""
        try:
            return check()
        except NotPermitted:
            raise
        except InvalidInput as error:
            self.extend(error.errors)
            return None

    def add(self, field: str, message: str) -> None:
        self.extend([FieldError(field, message)])

    def extend(self, errors: Iterable[FieldError]) -> None:
        # One message per field: a second check of a field already refused adds nothing.
        seen = {e.field for e in self.errors}
        for error in errors:
            if error.field not in seen:
                self.errors.append(error)
                seen.add(error.field)

    def raise_any(self) -> None:
        """Raise one InvalidInput listing every error kept, if any."""
        if self.errors:
            raise InvalidInput.of(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


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
