"""The command line: a thin layer over the domain. Nothing here imports Textual, except
``fixreview`` with no command (and ``demo``), which open the app."""
