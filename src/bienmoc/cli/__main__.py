"""``python -m bienmoc.cli``: the ``bienmoc`` command."""
from bienmoc.cli.main import main

main(prog_name="bienmoc")
