"""Backend names, shared by the navigator's and the crossbar's backend tables.

Each system registers its backends in one :class:`BackendTable`, ``{name:
entry}``; run code looks a backend's entry up and never branches on its name.
A backend is named ``NAME``, or ``NAME:PORT`` when its entry is a board
(``entry.board``): ``serial:/dev/ttyUSB1``, ``serial:socket://host:5000``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = ["Backend", "BackendEntry", "BackendTable"]


class BackendEntry(Protocol):
    """What the names need of an entry: whether it is a board on a port."""

    @property
    def board(self) -> bool: ...


E = TypeVar("E", bound=BackendEntry)


@dataclass(frozen=True)
class Backend:
    """A backend as named on the command line: its table entry's name and, for a
    board, the port (a device or a pyserial URL)."""

    kind: str
    port: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.port}" if self.port else self.kind


class BackendTable(dict[str, E]):
    """A system's backends by name (see the module text)."""

    def names(self) -> tuple[str, ...]:
        """The names as written: ``NAME``, or ``NAME:PORT`` for a board."""
        return tuple(f"{name}:PORT" if entry.board else name for name, entry in self.items())

    def parse(self, text: str) -> Backend:
        """The backend ``text`` names; a ValueError lists the choices."""
        name, sep, port = text.partition(":")
        entry = self.get(name)
        if entry is not None and bool(sep) == bool(port) == entry.board:
            return Backend(name, port)
        raise ValueError(f"backend must be one of {', '.join(self.names())} (got {text!r})")

    def entry(self, backend: Backend | str) -> E:
        """The entry of a backend, parsed or by name (a ValueError lists the choices)."""
        if isinstance(backend, str):
            backend = self.parse(backend)
        return self[backend.kind]
