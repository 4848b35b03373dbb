"""The demo: real git repositories built from the data in ``sample_repos/``."""
