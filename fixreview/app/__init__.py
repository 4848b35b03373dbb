"""The Textual review app: it presents the domain and drives it, and holds no domain logic.

``main`` is the App; ``screens/`` holds one module per screen (queue, review, decision dialog,
summary, help); ``widgets/`` the reusable pieces (the lazily rendered diff view, the checklist,
the risk bar); ``themes`` loads colour themes from TOML files.
"""
