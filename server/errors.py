"""One exception for every error a call can answer with, and the catalogue that gives it its codes.

Code raises `ApiError("invalid_model_id", "no such model", id=...)`; the name is looked up in
schema/errors.conf for the HTTP status (result_code), subcode and default message. Keeping the numbers in
the catalogue keeps them in one place, visible to clients and documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyhocon import ConfigFactory


class ApiError(Exception):
    """An error answered to the caller in the response envelope.

    `message` completes the catalogue's default message; `data` becomes meta.error_data.
    """

    def __init__(self, name: str, message: str | None = None, /, **data: Any):  # data may hold "name" too
        self.name = name
        self.message = message
        self.data = data
        super().__init__(f"{name}: {message}" if message else name)


@dataclass(frozen=True)
class ErrorCode:
    name: str
    code: int
    subcode: int
    message: str


class ErrorCatalogue:
    def __init__(self, codes: dict[str, ErrorCode]):
        self.codes = codes

    @classmethod
    def load(cls, path: Path) -> "ErrorCatalogue":
        tree = ConfigFactory.parse_file(str(path)).as_plain_ordered_dict()["errors"]
        return cls(
            {
                name: ErrorCode(name, int(entry["code"]), int(entry["subcode"]), str(entry["message"]))
                for name, entry in tree.items()
            }
        )

    def __contains__(self, name: str) -> bool:
        return name in self.codes

    def __iter__(self):
        return iter(self.codes.values())

    def lookup(self, name: str) -> ErrorCode:
        try:
            return self.codes[name]
        except KeyError:
            raise KeyError(f"error '{name}' is not in the error catalogue") from None

    def describe(self, error: ApiError) -> tuple[ErrorCode, str]:
        """The catalogue entry of `error` and the result message to send."""
        entry = self.lookup(error.name)
        if not error.message:
            return entry, entry.message
        return entry, f"{entry.message}: {error.message}"
