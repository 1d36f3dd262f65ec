"""The one shape of every plug-in point: where a lower layer lets higher ones tell it something.

A lower app owns a `Registry` and calls what is registered; a higher app registers into it from
its `AppConfig.ready()`. The ledger tells the plans that balances closed or reopened, the weekly
close runs the steps the statements app registers, the job runner posts for every plan source,
guided entry serves the flows repairs and loans register, and a lease write lets the lease
schedules follow — without any of those lower apps importing the higher ones.

    CLOSE_STEPS = Registry("weekly close steps")
    CLOSE_STEPS.register("ledger.close_earnings", step, order=10)   # in StatementsConfig.ready()
    for step in CLOSE_STEPS: ...                                     # ascending order, then name

Registering a name again replaces the entry (an app's ready() may run twice in tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, description: str) -> None:
        self.description = description
        self._entries: dict[str, tuple[int, T]] = {}

    def register(self, name: str, entry: T, *, order: int = 0) -> T:
        self._entries[name] = (order, entry)
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name][1]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise LookupError(f"no {self.description} named {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return [name for name, _ in self._sorted()]

    def __iter__(self) -> Iterator[T]:
        return (entry for _, entry in self._sorted())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _sorted(self) -> list[tuple[str, T]]:
        return [(name, entry) for name, (_, entry) in sorted(self._entries.items(), key=lambda kv: (kv[1][0], kv[0]))]
