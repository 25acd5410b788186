"""Engine launchers: each renders an engine's native config into a LaunchPlan and runs it as a subprocess."""

from videokr.engines.base import LaunchPlan, format_plan, render_command_sh, run_plan, write_plan_files

__all__ = ["LaunchPlan", "format_plan", "render_command_sh", "run_plan", "write_plan_files"]
