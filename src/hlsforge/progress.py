"""Progress reporting for anything that can take more than a couple of seconds.

One helper so every long step (compiles, C simulation, checks, scans) reports the same way:
a ``tqdm`` bar on a terminal, nothing when quiet or when standard error is not a terminal
(CI logs, pipes), so output stays machine-readable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Set by the command line's ``-q``; library callers pass ``quiet=`` instead.
QUIET = False


def enabled(quiet: bool | None = None) -> bool:
    """Whether progress should be shown: not quiet, and standard error is a terminal."""
    if quiet if quiet is not None else QUIET:
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def track(items: Iterable[T], description: str, *, total: int | None = None,
          quiet: bool | None = None) -> Iterator[T]:
    """Iterate over ``items``, showing a progress bar when :func:`enabled`."""
    if not enabled(quiet):
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=description, total=total, file=sys.stderr, leave=False)
