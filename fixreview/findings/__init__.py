"""Importers that turn scanners' and producers' output into findings."""
