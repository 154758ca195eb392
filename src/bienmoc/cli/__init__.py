"""The ``bienmoc`` command line: a thin layer over the library's public functions."""
from bienmoc.cli.main import main

__all__ = ["main"]
