"""plan_grpo / plan_merge: the verl launches rendered from the recipes, checked against the published settings."""

import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from videokr.config import load_recipe
from videokr.config.grpo import ClusterConfig, GRPOConfig, MergeConfig, RewardConfig
from videokr.engines.base import render_command_sh
from videokr.engines.verl import find_step_dir, hydra_value, plan_grpo, plan_merge
from videokr.errors import DataError, EngineError
from videokr.recipes import RECIPES_DIR
from videokr.run.inputs import grpo_checkpoints, rl_data

RECIPES = RECIPES_DIR

# PROTOCOL.md section 7 (GRPO column), written out by hand: what every GPU launch of the recipe must say.
PUBLISHED = {
    "algorithm.adv_estimator": "grpo",
    "algorithm.use_kl_in_reward": "false",
    "data.train_batch_size": "32",
    "data.max_prompt_length": "16384",
    "data.max_response_length": "2048",
    "actor_rollout_ref.actor.optim.lr": "5e-06",
    "actor_rollout_ref.actor.ppo_mini_batch_size": "8",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": "4",
    "actor_rollout_ref.actor.use_kl_loss": "true",
    "actor_rollout_ref.actor.kl_loss_coef": "0.01",
    "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
    "actor_rollout_ref.actor.entropy_coeff": "0.0",
    "actor_rollout_ref.model.enable_gradient_checkpointing": "true",
    "actor_rollout_ref.ref.fsdp_config.param_offload": "true",
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.rollout.n": "8",
    "actor_rollout_ref.rollout.tensor_model_parallel_size": "1",
    "actor_rollout_ref.rollout.gpu_memory_utilization": "0.6",
    "trainer.total_epochs": "1",
    "trainer.save_freq": "20",
    "trainer.test_freq": "20",
    "trainer.resume_mode": "auto",
    "reward.custom_reward_function.name": "compute_score",
}


def overrides(plan) -> dict[str, str]:
    assert plan.argv[1:3] == ("-m", "verl.trainer.main_ppo")
    return dict(arg.split("=", 1) for arg in plan.argv[3:])


def recipe_plan(name: str, tmp_path: Path, gpus: int, extra: tuple[str, ...] = ()):
    recipe = load_recipe(RECIPES / f"{name}.yaml", list(extra))
    run_dir = Path(recipe.output_dir).absolute()  # the paths the run resolves (videokr.run.inputs)
    cfg = replace(
        recipe.grpo, data_dir=str(rl_data(recipe, run_dir)), output_dir=str(grpo_checkpoints(recipe, run_dir))
    )
    plan = plan_grpo(
        cfg,
        stage_dir=tmp_path,
        model_path="/models/sft",
        family=recipe.model.family,
        python="/envs/rl/bin/python",
        gpus=gpus,
    )
    return recipe, plan


@pytest.mark.parametrize(
    ("recipe", "patch", "external"),
    [
        pytest.param("qwen2_5vl", "14", None, id="qwen2.5-vl"),
        pytest.param("qwen3vl", "16", "videokr.plugins.verl_vllm", id="qwen3-vl"),
    ],
)
def test_plan_grpo_8_gpus_one_node_renders_published_recipe(recipe, patch, external, tmp_path):
    _, plan = recipe_plan(recipe, tmp_path, gpus=8)
    got = overrides(plan)
    assert {k: got.get(k) for k in PUBLISHED} == PUBLISHED
    assert got["trainer.nnodes"] == "1" and got["trainer.n_gpus_per_node"] == "8"
    assert got["data.image_patch_size"] == patch
    assert got["actor_rollout_ref.model.path"] == "/models/sft"
    assert got["reward.custom_reward_function.path"].endswith("videokr/rewards/__init__.py")
    assert got["data.train_files"].endswith(f"runs/{recipe}/prepare-rl/data/train.parquet")
    assert got["trainer.default_local_dir"].endswith(f"runs/{recipe}/grpo/checkpoints")
    assert plan.argv[0] == "/envs/rl/bin/python"
    # a GPU launch carries none of the CPU machinery
    assert "trainer.device" not in got and not any(k.startswith("+ray_kwargs") for k in got)
    assert plan.env.get("VERL_USE_EXTERNAL_MODULES") == external
    assert "VERL_PLATFORM" not in plan.env
    assert plan.env["VERL_FILE_LOGGER_PATH"] == str(tmp_path.absolute() / "verl_metrics.raw.jsonl")


def test_plan_grpo_two_nodes_joins_existing_ray_cluster(tmp_path):
    _, plan = recipe_plan(
        "qwen2_5vl", tmp_path, gpus=8, extra=("grpo.cluster.nnodes=2", "grpo.cluster.ray_address=auto")
    )
    got = overrides(plan)
    assert got["trainer.nnodes"] == "2" and got["trainer.n_gpus_per_node"] == "8"
    assert got["+ray_kwargs.ray_init.address"] == "auto"
    assert {k: got.get(k) for k in PUBLISHED} == PUBLISHED


def test_plan_grpo_without_gpu_switches_to_verl_cpu_module(tmp_path):
    _, plan = recipe_plan("qwen3vl", tmp_path, gpus=0)
    got = overrides(plan)
    assert plan.env["VERL_USE_EXTERNAL_MODULES"] == "videokr.plugins.verl_cpu"
    assert plan.env["VERL_PLATFORM"] == "cpu"
    assert "CUDA_VISIBLE_DEVICES" not in plan.env  # Ray refuses logical GPUs when it is set empty
    assert got["actor_rollout_ref.rollout.name"] == "hf"
    assert got["trainer.device"] == "cpu" and got["trainer.n_gpus_per_node"] == "1"
    assert got["actor_rollout_ref.actor.strategy"] == "fsdp2"
    assert got["+actor_rollout_ref.model.override_config.attn_implementation"] == "sdpa"
    assert got["actor_rollout_ref.rollout.agent.num_workers"] == "1"
    assert got["+ray_kwargs.ray_init.num_gpus"] == "1"
    assert got["transfer_queue.backend.SimpleStorage.num_data_storage_units"] == "1"
    assert got["data.image_patch_size"] == "16"  # the recipe itself is unchanged on CPU
    assert got["data.train_batch_size"] == "32"


def test_plan_grpo_without_gpu_loads_the_ordered_replay_buffer(tmp_path):
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer
    from verl.utils.import_utils import load_extern_type

    got = overrides(recipe_plan("qwen3vl", tmp_path, gpus=0)[1])
    sampler = load_extern_type(
        got["trainer.v1.sampler.custom_sampler.path"], got["trainer.v1.sampler.custom_sampler.name"]
    )
    assert issubclass(sampler, ReplayBuffer) and sampler is not ReplayBuffer
    assert got["trainer.balance_batch"] == "false"


def test_plan_grpo_reward_kwargs_and_passthrough_reach_hydra(tmp_path):
    cfg = GRPOConfig(
        device="gpu",
        reward=RewardConfig(kwargs={"mc_normalize": True}),
        passthrough={"trainer.max_actor_ckpt_to_keep": 2},
        cluster=ClusterConfig(n_gpus_per_node=4),
    )
    got = overrides(plan_grpo(cfg, stage_dir=tmp_path, model_path="m", gpus=4))
    assert got["+reward.custom_reward_function.reward_kwargs"] == "{mc_normalize:true}"
    assert got["trainer.max_actor_ckpt_to_keep"] == "2"
    assert got["trainer.n_gpus_per_node"] == "4"


def test_plan_grpo_device_gpu_without_gpu_is_an_error(tmp_path):
    with pytest.raises(EngineError, match="no CUDA GPU"):
        plan_grpo(GRPOConfig(device="gpu"), stage_dir=tmp_path, model_path="m", gpus=0)


def test_plan_grpo_without_model_is_an_error(tmp_path):
    with pytest.raises(EngineError, match="no model to train"):
        plan_grpo(GRPOConfig(), stage_dir=tmp_path, gpus=0)


def test_command_sh_replays_the_launch(tmp_path):
    _, plan = recipe_plan("qwen2_5vl", tmp_path, gpus=8)
    script = render_command_sh(plan)
    last = script.strip().splitlines()[-1]
    assert shlex.split(last)[1:] == list(plan.argv)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(True, "true", id="bool"),
        pytest.param(None, "null", id="none"),
        pytest.param(3, "3", id="int"),
        pytest.param(["console", "file"], "[console,file]", id="list"),
        pytest.param("/a/b c.parquet", "'/a/b c.parquet'", id="path-with-space"),
        pytest.param("Qwen/Qwen3-VL-8B-Instruct", "Qwen/Qwen3-VL-8B-Instruct", id="hub-id"),
    ],
)
def test_hydra_value_renders_overrides(value, text):
    assert hydra_value(value) == text


def _steps(root: Path, *steps: int) -> Path:
    for step in steps:
        (root / f"global_step_{step}" / "actor").mkdir(parents=True)
    return root


def test_find_step_dir_picks_latest_or_chosen_step(tmp_path):
    root = _steps(tmp_path / "ckpt", 2, 10, 3)
    assert find_step_dir(root).name == "global_step_10"
    assert find_step_dir(root, 3).name == "global_step_3"
    with pytest.raises(DataError, match="have: 2, 3, 10"):
        find_step_dir(root, 7)
    with pytest.raises(DataError, match="no global_step_N"):
        find_step_dir(tmp_path)


def test_plan_merge_targets_step_actor(tmp_path):
    root = _steps(tmp_path / "ckpt", 2, 4)
    plan, target = plan_merge(MergeConfig(step=2), checkpoint_dir=str(root), stage_dir=tmp_path, python="py")
    assert plan.argv[:5] == ("py", "-m", "verl.model_merger", "merge", "--backend")
    args = dict(zip(plan.argv[4::2], plan.argv[5::2], strict=True))
    assert args == {
        "--backend": "fsdp",
        "--local_dir": str(root.absolute() / "global_step_2" / "actor"),
        "--target_dir": str(tmp_path.absolute() / "merged" / "global_step_2"),
    }
    assert target == tmp_path / "merged" / "global_step_2"


def test_plan_grpo_cpu_on_existing_cluster_brings_no_resources_and_ships_worker_env(tmp_path):
    _, plan = recipe_plan(
        "qwen2_5vl", tmp_path, gpus=0, extra=("grpo.cluster.nnodes=2", "grpo.cluster.ray_address=10.0.0.1:6379")
    )
    got = overrides(plan)
    assert got["trainer.nnodes"] == "2" and got["trainer.n_gpus_per_node"] == "1"  # one worker per raylet
    assert got["+ray_kwargs.ray_init.address"] == "10.0.0.1:6379"
    # ray.init refuses resource counts with an address; the cluster's raylets bring their own
    assert not {"ray_kwargs.ray_init.num_cpus", "+ray_kwargs.ray_init.num_gpus"} & set(got)
    # workers of a cluster videokr did not start read their variables from the job's runtime_env, as strings
    env_vars = got["+ray_kwargs.ray_init.runtime_env.env_vars"]
    assert "VERL_USE_EXTERNAL_MODULES:'videokr.plugins.verl_cpu'" in env_vars and "HF_HUB_OFFLINE:'1'" in env_vars
    assert f"VERL_FILE_LOGGER_PATH:'{tmp_path.absolute() / 'verl_metrics.raw.jsonl'}'" in env_vars
    assert shlex.split(render_command_sh(plan).splitlines()[-1])[1:] == list(plan.argv)  # survives the shell


def test_plan_grpo_local_cpu_ray_gets_one_logical_gpu_per_node(tmp_path):
    _, plan = recipe_plan("qwen2_5vl", tmp_path, gpus=0, extra=("grpo.cluster.nnodes=2",))
    got = overrides(plan)
    assert got["+ray_kwargs.ray_init.num_gpus"] == "2" and got["ray_kwargs.ray_init.num_cpus"] == "32"
    assert not any("runtime_env" in k for k in got)
