"""The five log levels of the product, in its own spelling, lowest first."""

from __future__ import annotations

from enum import IntEnum

from domain.errors import InvalidInput


class LogLevel(IntEnum):
    """Verbose < Debug < Info < Warning < Error. A job's threshold discards entries below it."""

    Verbose = 10
    Debug = 20
    Info = 30
    Warning = 40
    Error = 50

    @classmethod
    def parse(cls, value: object, field: str = "log_level") -> LogLevel:
        """Read a level by its name (any case) or its number; refuse anything else by name."""
        if isinstance(value, LogLevel):
            return value
        if isinstance(value, str):
            for level in cls:
                if level.name.lower() == value.strip().lower():
                    return level
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                pass
        names = ", ".join(level.name for level in cls)
        raise InvalidInput(field, f"{value!r} is not a log level; expected one of {names}")

    def admits(self, level: LogLevel) -> bool:
        """Whether an entry at `level` passes this threshold."""
        return level >= self
