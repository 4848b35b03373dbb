"""Payments portal backend."""

__version__ = "0.4.0"
