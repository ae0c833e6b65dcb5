"""Registry of the typed records (dataclasses) that the IR stores in attrs and node metadata.

``serialize`` writes any registered dataclass as ``{"record": name, ...fields}`` and reads it
back by name, so adding a record type needs no change to the serializer.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T", bound=type)

RECORDS: dict[str, type] = {}


def ir_record(cls: T) -> T:
    """Class decorator: make a dataclass storable in the IR's JSON form."""
    if cls.__name__ in RECORDS and RECORDS[cls.__name__] is not cls:
        raise TypeError(f"two IR records are named {cls.__name__}")
    RECORDS[cls.__name__] = cls
    return cls
