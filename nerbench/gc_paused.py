"""Pausing Python's cyclic garbage collector while building many small objects that hold no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No collection inside the block: building hundreds of thousands of tuples, spans or documents would
    otherwise set off full rescans of everything alive, which cost more than the building."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
