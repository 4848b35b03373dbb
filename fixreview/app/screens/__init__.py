"""Screens of the review app, one module each."""
