"""nerbench: benchmark and compare named entity recognition systems on the same gold data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nerbench.types import Document, Span, TextInput

if TYPE_CHECKING:
    from nerbench.harness.results import Results, load_results

__version__ = "0.1.0"

__all__ = ["Document", "Results", "Span", "TextInput", "__version__", "load_results"]


def __getattr__(name: str) -> Any:
    # The results API pulls in pandas: import it only when asked for.
    if name in ("load_results", "Results"):
        from nerbench.harness import results

        return getattr(results, name)
    raise AttributeError(f"module 'nerbench' has no attribute {name!r}")
