"""Adapters: gold-data formats (``adapters.data``) and model families (``adapters.models``)."""
