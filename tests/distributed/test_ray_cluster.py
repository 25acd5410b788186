"""videokr on an existing two-raylet Ray cluster: GRPO through verl with workers on both nodes, and the data stages.

One cluster (`ray start --head` + `ray start --address`, tests/distributed/conftest.py) serves the whole module.
What this proves on CPU: the rendered launch joins a cluster it did not start, places verl's workers on both
raylets, trains and checkpoints, and leaves the cluster running with every resource released; the data stages
give the local pool's results from Ray tasks. What it cannot: NCCL, vLLM rollouts, real GPUs on separate hosts.
"""

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from videokr.cli import main
from videokr.data.rl import prepare_rl
from videokr.io import read_jsonl

pytestmark = [pytest.mark.distributed, pytest.mark.integration, pytest.mark.slow]

CLIPS = ["square_8fps", "odd_12fps", "long_4fps", "wide_25fps", "square_8fps", "odd_12fps"]


def connect(address: str) -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    return ray


def node_ids(address: str, names: tuple[str, ...]) -> dict[str, str]:
    """name resource -> Ray node id."""
    ray = connect(address)
    return {
        name: node["NodeID"] for node in ray.nodes() if node["Alive"] for name in names if name in node["Resources"]
    }


def wait_released(address: str, timeout: float = 60) -> dict[str, float]:
    """Wait until every resource of the cluster is free again (a finished job's actors die asynchronously)."""
    ray = connect(address)
    deadline = time.monotonic() + timeout
    total = ray.cluster_resources()
    while True:
        free = ray.available_resources()
        if all(free.get(key, 0) >= value for key, value in total.items() if not key.startswith("node:")):
            return free
        if time.monotonic() > deadline:
            raise AssertionError(f"resources still held after the job: total {total}, free {free}")
        time.sleep(1)


def test_grpo_joins_existing_cluster_on_both_raylets(ray_cluster, tiny_qwen2_5_vl, write_mc_corpus, tmp_path, capsys):
    from ray.util.state import list_actors

    src = write_mc_corpus(tmp_path / "corpus", CLIPS)
    data = prepare_rl(src, tmp_path / "data", tmp_path / "corpus", val_size=2, seed=1)
    assert data.train_rows == 4
    run = tmp_path / "run"
    recipe = {
        "name": "grpo-cluster",
        "output_dir": str(run),
        "model": {"path": str(tiny_qwen2_5_vl), "family": "qwen2_5_vl"},
        "grpo": {
            "device": "cpu",
            "data_dir": str(tmp_path / "data"),
            "output_dir": str(run / "grpo" / "checkpoints"),
            "experiment_name": "cluster",
            "lr": 1e-3,
            "train_batch_size": 2,
            "rollout_n": 4,
            "ppo_mini_batch_size": 2,
            "ppo_micro_batch_size_per_gpu": 4,  # 2 prompts x 4 responses over 2 ranks
            "log_prob_micro_batch_size_per_gpu": 4,
            "max_prompt_length": 1024,
            "max_response_length": 8,
            "save_freq": 2,
            "test_freq": -1,
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    before = node_ids(ray_cluster.address, ray_cluster.node_resources)
    assert len(before) == 2

    overrides = [
        "grpo.total_training_steps=2",
        f"grpo.cluster.ray_address={ray_cluster.address}",
        "grpo.cluster.nnodes=2",
    ]
    started = time.monotonic()
    assert main(["train", "grpo", str(tmp_path / "recipe.yaml"), *overrides]) == 0
    print(f"grpo on the cluster: {time.monotonic() - started:.1f} s")

    stage, ckpt = run / "grpo", run / "grpo" / "checkpoints"
    assert (ckpt / "global_step_2" / "actor").is_dir()
    assert [r["step"] for r in read_jsonl(stage / "metrics.jsonl")] == [1, 2]
    command = (stage / "command.sh").read_text()
    assert f"+ray_kwargs.ray_init.address={ray_cluster.address}" in command and "trainer.nnodes=2" in command
    assert "ray_init.num_cpus" not in command  # an existing cluster brings its own resources

    # verl's FSDP workers (one per logical GPU) ran on both raylets, read from Ray's state API.
    actors = list_actors(address=ray_cluster.address, limit=10000, detail=True, raise_on_missing_output=False)
    workers = [a for a in actors if "WorkerDict" in (a.class_name or "")]
    assert {a.node_id for a in workers} == set(before.values()), [(a.class_name, a.node_id) for a in actors]

    # The cluster is still up, both raylets alive, every resource released, and it still runs work.
    assert node_ids(ray_cluster.address, ray_cluster.node_resources) == before
    wait_released(ray_cluster.address)
    assert not [a for a in list_actors(address=ray_cluster.address, filters=[("state", "=", "ALIVE")], limit=10000)]
    ray = connect(ray_cluster.address)
    assert ray.get(ray.remote(lambda: 41 + 1).remote()) == 42
    ray.shutdown()


# 96 rows + 3 broken ones: 7 chunks of 16, so SPREAD (best-effort) has enough tasks to use both nodes
DATA_CLIPS = ["square_8fps", "odd_12fps", "long_4fps", "wide_25fps", "tall_ntsc", "hd_30fps"] * 16


def data_corpus(root: Path, write_mc_corpus: Any, broken_videos: dict[str, Path]) -> Path:
    """36 rows over good clips, then a missing, a truncated and a non-video file."""
    src = write_mc_corpus(root, DATA_CLIPS)
    for name in ("truncated", "not_a_video"):
        shutil.copy(broken_videos[name], root / "Videos" / "videos_0001" / f"{name}.mp4")
    extra = [
        {
            "problem_id": f"x-{name}",
            "problem_type": "open-ended",
            "question": "What moves?",
            "solution": "a square",
            "video_path": f"videos_0001/{name}.mp4",
        }
        for name in ("nope", "truncated", "not_a_video")
    ]
    with src.open("a") as out:
        out.write("".join(json.dumps(row) + "\n" for row in extra))
    return src


def chunk_tasks(address: str) -> list[Any]:
    """videokr's chunk tasks (data/parallel.py) the cluster ran so far, from Ray's state API."""
    from ray.util.state import list_tasks

    return list(list_tasks(address=address, filters=[("name", "=", "_checked")], limit=10000))


def task_nodes(address: str) -> set[str]:
    """Nodes that ran videokr's chunk tasks."""
    return {t.node_id for t in chunk_tasks(address)}


def test_data_check_on_ray_matches_local_pool(ray_cluster, tiny_qwen2_5_vl, write_mc_corpus, broken_videos, tmp_path):
    src = data_corpus(tmp_path / "corpus", write_mc_corpus, broken_videos)
    common = ["data", "check", "--input", str(src), "--video-root", str(tmp_path / "corpus" / "Videos")]
    common += ["--family", "qwen2_5_vl", "--tokenizer", str(tiny_qwen2_5_vl), "--max-prompt-length", "178"]
    started = time.monotonic()
    assert main([*common, "--workers", "2", "--report", str(tmp_path / "local.jsonl")]) == 1  # 1: some rows not ok
    local_s = time.monotonic() - started
    started = time.monotonic()
    assert main([*common, "--ray-address", ray_cluster.address, "--report", str(tmp_path / "ray.jsonl")]) == 1
    print(f"data check: local pool {local_s:.1f} s, ray {time.monotonic() - started:.1f} s")

    local, on_ray = (tmp_path / "local.jsonl").read_text(), (tmp_path / "ray.jsonl").read_text()
    assert on_ray == local
    statuses = [json.loads(line)["status"] for line in local.splitlines()]
    assert len(statuses) == len(DATA_CLIPS) + 3 and {"ok", "too_long", "missing", "unreadable"} <= set(statuses)
    both = set(node_ids(ray_cluster.address, ray_cluster.node_resources).values())
    deadline = time.monotonic() + 60  # each node reports its finished tasks to the state API on its own flush
    while task_nodes(ray_cluster.address) != both and time.monotonic() < deadline:
        time.sleep(1)
    # SPREAD is best-effort: on busy cores (a full CI run) Ray has put every chunk on one node, so this asserts the
    # chunks ran as Ray tasks on this cluster; the GRPO test above checks that work lands on both raylets
    nodes = task_nodes(ray_cluster.address)
    assert nodes and nodes <= both, nodes
    wait_released(ray_cluster.address)


def test_prepare_rl_length_filter_on_ray_matches_local_pool(
    ray_cluster, tiny_qwen2_5_vl, write_mc_corpus, broken_videos, tmp_path
):
    import pyarrow.parquet as pq

    src = data_corpus(tmp_path / "corpus", write_mc_corpus, broken_videos)
    common = ["data", "prepare-rl", "--input", str(src), "--video-root", str(tmp_path / "corpus" / "Videos")]
    common += ["--model", str(tiny_qwen2_5_vl), "--max-prompt-length", "178", "--val-size", "4"]
    assert main([*common, "--workers", "2", "--output-dir", str(tmp_path / "local")]) == 0
    assert main([*common, "--ray-address", ray_cluster.address, "--output-dir", str(tmp_path / "ray")]) == 0

    for name in ("train.parquet", "test.parquet"):
        assert pq.read_table(tmp_path / "ray" / name).equals(pq.read_table(tmp_path / "local" / name))
    dropped = (tmp_path / "local" / "dropped.jsonl").read_text()
    assert (tmp_path / "ray" / "dropped.jsonl").read_text() == dropped
    reasons = {json.loads(line)["reason"] for line in dropped.splitlines()}
    assert {"too_long", "video_missing"} <= reasons, reasons
    wait_released(ray_cluster.address)


def scene_painter(width: int, height: int, seed: int, fps: float, scene_seconds: float = 2.0) -> Any:
    """Frames of random blocks that change every `scene_seconds`: content the frame hashes can tell apart."""
    import numpy as np

    def paint(index: int) -> Any:
        rng = np.random.default_rng([seed, int(index / fps // scene_seconds)])
        small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        return np.kron(small, np.ones((height // 6 + 1, width // 8 + 1, 1), np.uint8))[:height, :width]

    return paint


def test_decontaminate_hashes_on_ray_match_the_local_pool(ray_cluster, tmp_path):
    from videokr.data.synth import write_video

    videos = tmp_path / "videos"
    bench, train = videos / "bench", videos / "train"
    for seed in range(3):  # the benchmark; the training set has a re-encoded copy of clip 0 and two unrelated clips
        write_video(
            bench / f"b{seed}.mp4", width=96, height=64, fps=4, seconds=12, painter=scene_painter(96, 64, seed, 4)
        )
    write_video(train / "copy.mp4", width=128, height=96, fps=6, seconds=12, painter=scene_painter(128, 96, 0, 6))
    for seed in (10, 11):
        write_video(
            train / f"t{seed}.mp4", width=96, height=64, fps=4, seconds=12, painter=scene_painter(96, 64, seed, 4)
        )
    rows = [
        {"problem_id": name, "problem_type": "open-ended", "question": f"What happens in clip {name}?",
         "solution": "blocks change", "video_path": f"{name}.mp4"}
        for name in ("copy", "t10", "t11")
    ]  # fmt: skip
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    common = ["data", "decontaminate", "--input", str(tmp_path / "train.jsonl"), "--video-root", str(train)]
    common += ["--against-videos", str(bench)]
    assert main([*common, "--workers", "2", "--output-dir", str(tmp_path / "local")]) == 0
    before = len(chunk_tasks(ray_cluster.address))
    assert main([*common, "--ray-address", ray_cluster.address, "--output-dir", str(tmp_path / "ray")]) == 0
    deadline = time.monotonic() + 60  # Ray's state API sees finished tasks after its next event flush
    while len(chunk_tasks(ray_cluster.address)) <= before:
        assert time.monotonic() < deadline, "no chunk task reached Ray: the hashing did not run on the cluster"
        time.sleep(1)

    for name in ("kept.jsonl", "contaminated.jsonl"):
        assert (tmp_path / "ray" / name).read_text() == (tmp_path / "local" / name).read_text()
    found = [json.loads(line) for line in (tmp_path / "ray" / "contaminated.jsonl").read_text().splitlines()]
    assert [(row["problem_id"], row["contamination"]["reason"]) for row in found] == [("copy", "near_duplicate")]
    assert json.loads((tmp_path / "ray" / "report.json").read_text())["by_reason"] == {"near_duplicate": 1}
    wait_released(ray_cluster.address)
