"""Write the explorer: static HTML/CSS/JS pages (package data) plus `data.js`, which assigns the page data.

The site needs no server and no network: `data.js` is a script, not a fetched JSON file, so the pages open from
file:// on a cluster's shared disk or a laptop copy. `videokr run` and `videokr demo` write it to RUN/explorer/.
"""

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videokr.explore.collect import collect_run
from videokr.io import write_text

ASSETS_DIR = Path(__file__).parent / "assets"
PAGES = ("index.html", "samples.html", "review.html")
DATA_GLOBAL = "VIDEOKR_DATA"


def write_site(data: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Copy the pages into `out_dir`, write `data.js` with `data`; returns the run page (index.html)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for asset in sorted(ASSETS_DIR.iterdir()):
        if asset.is_file():
            shutil.copyfile(asset, out / asset.name)
    # ensure_ascii keeps the script valid whatever the text holds; "</" is escaped for the odd inline use.
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
    write_text(out / "data.js", f"window.{DATA_GLOBAL} = {payload};\n")
    return out / "index.html"


def write_explorer(run_dir: str | Path, out_dir: str | Path | None = None, *, frames: int = 0) -> Path:
    """Collect `run_dir` and write its explorer (default RUN/explorer/); returns the path of index.html."""
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "explorer"
    return write_site(collect_run(run_dir, out, frames=frames), out)
