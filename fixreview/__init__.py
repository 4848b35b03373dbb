"""fixreview: review AI-proposed security fixes and record signed decisions as git notes.

The domain (models, git access, notes, policy, importers, queue) lives in this package and
never imports Textual; the terminal app lives in ``fixreview.app`` and the command line in
``fixreview.cli``.
"""

__version__ = "0.1.0"
