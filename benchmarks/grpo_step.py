"""GRPO step cost on CPU through the real verl main_ppo: time split per step and peak RAM, tiny vs demo-sized model.

Run: `.venv/bin/python benchmarks/grpo_step.py [--steps 3] [--sizes small demo] [--family qwen2_5_vl]`.
Each size builds a tiny checkpoint (videokr.tiny), writes a handful of generated clips in the RL parquet format,
runs `videokr.engines.verl.train_grpo` (verl + videokr.plugins.verl_cpu) and reads verl's own per-step timings from
metrics.jsonl: generation (HF rollout), old / reference log-probs, actor update, and the whole step. The reward is
computed inside verl's agent loop and has no timer of its own in 0.9.1; it is timed here on the logged responses'
count with videokr.rewards.compute_score. Peak RAM is the largest summed RSS of the launch's process tree (Ray
actors included) above what was in use before the launch.
"""

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from videokr.config.grpo import GRPOConfig
from videokr.data.synth import solid_painter, write_video
from videokr.engines.verl import train_grpo
from videokr.engines.verl_metrics import METRICS
from videokr.io import read_jsonl
from videokr.tiny import build_tiny_model, count_parameters

PHASES = [
    ("gen", "timing_s/gen"),
    ("old_log_prob", "timing_s/old_log_prob"),
    ("ref", "timing_s/ref"),
    ("update", "timing_s/update_actor"),
    ("weights_sync", "timing_s/update_weights"),
    ("step", "timing_s/step"),
]
COLOURS = {"A": (220, 30, 30), "B": (30, 30, 220)}


def write_parquet(root: Path, rows: int) -> Path:
    """Train/test parquet in prepare-rl's row format over generated red / blue clips."""
    import pandas as pd

    data = root / "data"
    data.mkdir(parents=True)
    records = []
    for i in range(rows):
        letter = "AB"[i % 2]
        clip = write_video(
            root / f"clip{i}.mp4", seconds=2.0, fps=4.0, painter=solid_painter(64, 64, COLOURS[letter], i)
        )
        records.append(
            {
                "data_source": "videokr",
                "prompt": [
                    {"role": "user", "content": "<video>\nWhat colour is the square?\nOptions:\nA. red\nB. blue"}
                ],
                "videos": [
                    {
                        "video": str(clip),
                        "fps": 2.0,
                        "min_frames": 4,
                        "max_frames": 4,
                        "max_pixels": 12544,
                        "min_pixels": 12544,
                    }
                ],
                "ability": "video_qa",
                "reward_model": {"style": "rule", "ground_truth": f"<answer>{letter}</answer>"},
                "extra_info": {"problem_id": str(i), "problem_type": "multiple choice", "answer": letter, "index": i},
            }
        )
    pd.DataFrame(records[2:]).to_parquet(data / "train.parquet")
    pd.DataFrame(records[:2]).to_parquet(data / "test.parquet")
    return data


class PeakRss:
    """Samples the summed RSS of this process's children every 0.25 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.25)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def reward_ms(calls: int = 2000) -> float:
    """Mean cost of one compute_score call on a formatted MC response."""
    from videokr.rewards import compute_score

    started = time.perf_counter()
    for _ in range(calls):
        compute_score(
            "videokr",
            "<think>red</think><answer>A</answer>",
            "<answer>A</answer>",
            {"problem_type": "multiple choice"},
        )
    return (time.perf_counter() - started) / calls * 1000


def run(size: str, family: str, steps: int, work: Path) -> dict:
    """One benchmark run; returns the per-phase mean seconds over steps after the first, and peak RAM."""
    root = work / size
    model = build_tiny_model(root / "model", family, size)  # type: ignore[arg-type]
    data = write_parquet(root, rows=10)
    cfg = GRPOConfig(
        device="cpu",
        data_dir=str(data),
        output_dir=str(root / "ckpt"),
        lr=1e-4,
        total_epochs=100,
        total_training_steps=steps,
        train_batch_size=4,
        rollout_n=4,
        ppo_mini_batch_size=4,
        ppo_micro_batch_size_per_gpu=16,
        log_prob_micro_batch_size_per_gpu=16,
        max_prompt_length=1024,
        max_response_length=32,
        save_freq=-1,
        test_freq=-1,
        image_patch_size=16 if family == "qwen3_vl" else 14,
    )
    started = time.perf_counter()
    with PeakRss() as rss:
        _, code = train_grpo(cfg, stage_dir=root / "stage", model_path=str(model), family=family)
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"verl failed for {size}: see {root / 'stage' / 'engine.log'}")
    rows = list(read_jsonl(root / "stage" / METRICS))
    later = rows[1:] or rows
    result = {"size": size, "parameters": count_parameters(model), "steps": len(rows), "wall_s": round(wall, 1)}
    result["first_step_s"] = round(rows[0]["timing_s/step"], 2)
    for name, key in PHASES:
        result[f"{name}_s"] = round(sum(r.get(key, 0.0) for r in later) / len(later), 3)
    responses = 4 * 4
    result["reward_s"] = round(reward_ms() * responses / 1000, 5)
    result["peak_rss_gb"] = round(rss.peak / 2**30, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", default=["small", "demo"])
    parser.add_argument("--family", default="qwen2_5_vl", choices=["qwen2_5_vl", "qwen3_vl"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grpo-bench-") as tmp:
        results = [run(size, args.family, args.steps, Path(tmp)) for size in args.sizes]
    columns = list(results[0])
    print("  ".join(f"{c:>14}" for c in columns))
    for r in results:
        print("  ".join(f"{r[c]!s:>14}" for c in columns))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
