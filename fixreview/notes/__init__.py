"""Git notes: the one-record-per-line format (``records``) and the compare-and-swap writer
(``store``)."""
