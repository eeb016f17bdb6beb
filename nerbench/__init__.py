"""nerbench: benchmark and compare named entity recognition systems on the same gold data."""

from nerbench.types import Document, Span, TextInput

__version__ = "0.1.0"

__all__ = ["Document", "Span", "TextInput", "__version__"]
