"""The run explorer: a static site of a run's stages, metrics, every eval sample, and the review page."""

from videokr.explore.review import Verdict, read_export, read_verdicts
from videokr.explore.site import write_explorer, write_site

__all__ = ["Verdict", "read_export", "read_verdicts", "write_explorer", "write_site"]
