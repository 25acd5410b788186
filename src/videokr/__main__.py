"""`python -m videokr` is the `videokr` console script."""

from videokr.cli import run

run()
