"""videokr.plugins.verl_cpu and its `hf` rollout, exercised in-process (no Ray) on tiny models and real videos."""

import asyncio
import doctest
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import verl  # noqa: F401

import videokr.plugins.verl_cpu as verl_cpu
import videokr.plugins.verl_rollout_hf as rollout_hf


@pytest.mark.parametrize("module", [verl_cpu, rollout_hf], ids=["verl_cpu", "verl_rollout_hf"])
def test_module_doctests_pass(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_wrong_verl_version_raises_with_install_command():
    with pytest.raises(RuntimeError, match=r"verl\[verl-core\]==0.9.1"):
        verl_cpu.check_verl_version("0.10.0")


def test_cpu_platform_and_hf_rollout_are_registered():
    from verl.plugin.platform import PlatformRegistry
    from verl.workers.rollout.base import get_rollout_class
    from verl.workers.rollout.replica import get_rollout_replica_class

    platform = PlatformRegistry.get("cpu")()
    assert platform.device_name == "cpu" and platform.communication_backend_name() == "gloo"
    assert platform.ray_resource_options(1) == {"num_gpus": 1}
    assert torch.zeros(2).to(platform.current_device()).device.type == "cpu"
    assert platform.device_module.memory_allocated() == 0
    assert get_rollout_replica_class("hf") is rollout_hf.HFReplica
    assert get_rollout_class("hf", "async") is rollout_hf.HFServerAdapter


def test_reference_offload_policy_is_not_pinned_without_cuda():
    from torch.distributed.fsdp import CPUOffloadPolicy

    assert CPUOffloadPolicy(pin_memory=True).pin_memory is torch.cuda.is_available()


def _server(model_dir: Path) -> rollout_hf.HFServer:
    from omegaconf import OmegaConf

    config = SimpleNamespace(dtype="float32", prompt_length=1024, response_length=12)
    return rollout_hf.HFServer(config, OmegaConf.create({"path": str(model_dir)}), replica_rank=0)


def _video_prompt(server: rollout_hf.HFServer, clip: Path) -> tuple[list[int], list]:
    """What verl's agent loop sends: processor-expanded prompt ids and (frames, metadata) pairs."""
    from qwen_vl_utils import process_vision_info
    from verl.utils.tokenizer import build_multimodal_processor_inputs

    patch = server.processor.image_processor.patch_size
    content = [
        {
            "type": "video",
            "video": str(clip),
            "fps": 2.0,
            "min_frames": 4,
            "max_frames": 4,
            "max_pixels": 4096,
            "min_pixels": 4096,
        },
        {"type": "text", "text": "What colour is the square?"},
    ]
    messages = [{"role": "user", "content": content}]
    _, videos = process_vision_info(messages, image_patch_size=patch, return_video_metadata=True)
    text = server.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = build_multimodal_processor_inputs(server.processor, text=[text], videos=videos)["input_ids"][0].tolist()
    return ids, videos


@pytest.mark.parametrize(
    "family", [pytest.param("qwen2_5_vl", id="qwen2.5-vl"), pytest.param("qwen3_vl", id="qwen3-vl")]
)
def test_hf_rollout_batches_concurrent_requests_with_log_probs_of_a_forward_pass(family, good_videos, request):
    server = _server(request.getfixturevalue(f"tiny_{family}"))
    prompts = [_video_prompt(server, good_videos[name]) for name in ("square_8fps", "wide_25fps", "odd_12fps")]
    assert len({len(ids) for ids, _ in prompts}) > 1  # different prompt lengths: the batch is left-padded
    sampling = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}

    async def run_all():
        calls = [server.generate(ids, dict(sampling), f"r{i}", video_data=v) for i, (ids, v) in enumerate(prompts)]
        return await asyncio.gather(*calls)

    outputs = asyncio.run(run_all())
    for (ids, videos), out in zip(prompts, outputs, strict=True):
        assert 1 <= len(out.token_ids) <= 12 and len(out.log_probs) == len(out.token_ids)
        assert not set(out.token_ids[:-1]) & set(server.eos)  # cut at the first end token
        # Teacher-forced forward pass of this request alone, with its own video features.
        inputs = server._inputs(ids + out.token_ids, videos, None)
        with torch.no_grad():
            logits = server.model(**inputs).logits[0, len(ids) - 1 : -1]
        expected = torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(out.token_ids)[:, None])[:, 0]
        assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-4)


def test_hf_rollout_samples_the_same_whatever_the_arrival_order_and_timing(tiny_qwen3_vl, good_videos):
    server = _server(tiny_qwen3_vl)
    prompts = [_video_prompt(server, good_videos[name]) for name in ("square_8fps", "wide_25fps", "odd_12fps")]
    sampling = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True, "max_tokens": 12}
    # 3 rollouts of each prompt with one id, as verl's full_determinism names them (the prompt's batch position)
    requests = [(f"det-{p}", ids, videos) for p, (ids, videos) in enumerate(prompts) for _ in range(3)]

    async def run_all(order, gap_s, step=1):
        await server.set_global_steps(step)  # each run replays the same training step

        async def one(position, request):
            request_id, ids, videos = request
            await asyncio.sleep(gap_s * position)  # arrivals spread out, as verl's agent loop sends them
            return request_id, await server.generate(ids, dict(sampling), request_id, video_data=videos)

        outputs = await asyncio.gather(*(one(position, requests[r]) for position, r in enumerate(order)))
        # a prompt's copies are interchangeable: compare the samples each prompt got
        return {rid: sorted(out.token_ids for i, out in outputs if i == rid) for rid in dict(outputs)}

    forward = asyncio.run(run_all(list(range(len(requests))), 0.0))  # one batch
    backward = asyncio.run(run_all(list(reversed(range(len(requests)))), 0.02))
    alone = asyncio.run(run_all(list(range(len(requests))), rollout_hf.QUIET_S * 1.6))  # a batch each
    assert forward == backward == alone  # every prompt gets the same samples, whatever the order and batches
    assert all(len({tuple(t) for t in copies}) > 1 for copies in forward.values())  # its copies are not one draw
    assert asyncio.run(run_all(list(range(len(requests))), 0.0, step=7)) != forward  # another step samples afresh


def test_hf_rollout_never_samples_vision_tokens_even_when_the_model_prefers_them(tiny_qwen2_5_vl, good_videos):
    server = _server(tiny_qwen2_5_vl)
    vision = [
        server.tokenizer.convert_tokens_to_ids(t) for t in ("<|video_pad|>", "<|vision_start|>", "<|image_pad|>")
    ]
    with torch.no_grad():  # make the vision tokens by far the likeliest next tokens
        server.model.get_output_embeddings().weight[vision] *= 0
        server.model.get_output_embeddings().weight[vision] += (
            server.model.get_output_embeddings().weight.abs().max() * 50
        )
        forward = server.model(**server._inputs(*_video_prompt(server, good_videos["square_8fps"]), None)).logits
    assert forward[0, -1].argmax().item() in vision
    ids, videos = _video_prompt(server, good_videos["square_8fps"])
    out = asyncio.run(server.generate(ids, {"temperature": 1.0, "logprobs": True}, "r2", video_data=videos))
    assert not set(out.token_ids) & set(vision)


def test_hf_rollout_load_weights_changes_outputs_and_rejects_unknown_names(tiny_qwen2_5_vl):
    server = _server(tiny_qwen2_5_vl)
    state = {name: torch.zeros_like(t) for name, t in server.model.state_dict().items() if "lm_head" in name}
    assert state, "tiny model has an lm_head"
    assert asyncio.run(server.load_weights(state, global_steps=3)) == len(state)
    assert all(torch.count_nonzero(server.model.state_dict()[name]) == 0 for name in state)
    assert server.global_steps == 3
    with pytest.raises(KeyError, match="not in the rollout model"):
        asyncio.run(server.load_weights({"model.nope.weight": torch.zeros(1)}))


@pytest.mark.parametrize(
    "lengths", [pytest.param([5, 5, 5], id="equal-lengths"), pytest.param([3, 6, 4], id="ragged")]
)
def test_position_ids_fix_keeps_rows_whatever_the_lengths(lengths):
    from tensordict import TensorDict
    from verl.utils.tensordict_utils import index_select_tensor_dict, maybe_fix_3d_position_ids

    rows = [torch.arange(4 * n).reshape(4, n) for n in lengths]
    # how verl's collate builds it when it has no ragged axis to pick: ragged on the first axis
    nested = torch.nested.as_nested_tensor(rows, layout=torch.jagged)
    data = TensorDict({"position_ids": nested}, batch_size=len(rows))
    maybe_fix_3d_position_ids(data)  # verl's name, now running videokr's fix
    picked = index_select_tensor_dict(data, torch.tensor([2, 0]))["position_ids"].unbind()
    assert [p.tolist() for p in picked] == [rows[2].tolist(), rows[0].tolist()]
