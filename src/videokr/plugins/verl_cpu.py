"""Stock verl 0.9.1 on a machine without GPUs: a `cpu` platform and an HF-`generate` rollout named `hf`.

verl imports this module in its driver and in every Ray worker when started with
`VERL_USE_EXTERNAL_MODULES=videokr.plugins.verl_cpu VERL_PLATFORM=cpu` (ENGINES.md section 5b); nothing in verl's
files is edited. `videokr.engines.verl.plan_grpo` adds those variables and the matching Hydra overrides whenever no
GPU is present. Each fix below names the upstream symptom it removes.
"""

import contextlib
import functools
import logging
import os
from collections.abc import Iterator
from typing import Any

import torch

from videokr.engines.hooks import HF_ROLLOUT

logger = logging.getLogger(__name__)

VERL_VERSION = "0.9.1"
# Tokens that only mean something when the processor put them there; a sampled one breaks get_rope_index
# ("StopIteration") and the feature scatter downstream.
VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>")


def check_verl_version(version: str) -> None:
    """Raise RuntimeError unless `version` is the verl release this module was written against.

    >>> check_verl_version("0.9.1")
    >>> check_verl_version("0.8.0")
    Traceback (most recent call last):
    ...
    RuntimeError: videokr.plugins.verl_cpu supports verl 0.9.1 only, found verl 0.8.0: pip install 'verl[verl-core]==0.9.1'
    """
    if version != VERL_VERSION:
        raise RuntimeError(
            f"videokr.plugins.verl_cpu supports verl {VERL_VERSION} only, found verl {version}: "
            f"pip install 'verl[verl-core]=={VERL_VERSION}'"
        )


def normalize_backend(backend: str | None) -> str | None:
    """Collapse verl's `cpu:gloo,<device>:<backend>` string when both halves name the CPU.

    >>> normalize_backend("cpu:gloo,cpu:gloo")
    'gloo'
    >>> normalize_backend("cpu:gloo,cuda:nccl")
    'cpu:gloo,cuda:nccl'
    """
    if backend is None:
        return None
    parts = {part.strip() for part in backend.split(",") if part.strip()}
    if parts and all(part.split(":")[0] == "cpu" for part in parts):
        return "gloo"
    return backend


class _CPUDeviceModule:
    """The `torch.<device>` namespace verl expects: torch.cpu plus no-op memory and RNG calls."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(torch.cpu, name):
            return getattr(torch.cpu, name)
        if name in {"memory_allocated", "memory_reserved", "max_memory_allocated", "max_memory_reserved"}:
            return lambda *args, **kwargs: 0
        if name == "mem_get_info":
            return _mem_get_info
        if name == "get_rng_state":
            return lambda *args, **kwargs: torch.get_rng_state()
        if name == "set_rng_state":
            return lambda state, *args, **kwargs: torch.set_rng_state(state)
        if name == "get_device_name":
            return lambda *args, **kwargs: "cpu"
        return lambda *args, **kwargs: None

    @staticmethod
    def is_available() -> bool:
        """verl only asks before calling synchronize / empty_cache, which are no-ops here."""
        return False

    @staticmethod
    def device_count() -> int:
        """One logical device per worker."""
        return 1


def _mem_get_info(*args: Any, **kwargs: Any) -> tuple[int, int]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return free, pages


def _register_platform() -> None:
    """Register the `cpu` platform (symptoms: `ProcessGroupNCCL is only supported with GPUs`; `trainer.device=cpu`
    silently becoming `cuda`, since auto-detection knows nvidia / huawei / amd only)."""
    from verl.plugin.platform import PlatformBase, PlatformRegistry

    device_module = _CPUDeviceModule()

    @PlatformRegistry.register(platform="cpu")
    class PlatformCPU(PlatformBase):
        """CPU platform; its Ray resource is a logical `GPU` so verl's resource pool can place workers."""

        @property
        def device_name(self) -> str:
            return "cpu"

        @property
        def vendor_name(self) -> str:
            return "cpu"

        @property
        def device_module(self) -> Any:
            return device_module

        def is_available(self) -> bool:
            return True

        def current_device(self) -> Any:
            # verl passes this to `tensor.to(...)`; an int would mean cuda:N.
            return "cpu"

        def device_count(self) -> int:
            return 1

        def set_device(self, device_index: int) -> None:
            return None

        def synchronize(self, device_index: int | None = None) -> None:
            return None

        def manual_seed(self, seed: int) -> None:
            torch.manual_seed(seed)

        def manual_seed_all(self, seed: int) -> None:
            torch.manual_seed(seed)

        def set_allocator_settings(self, settings: str) -> None:
            return None

        def empty_cache(self) -> None:
            return None

        def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
            return None, None

        def communication_backend_name(self) -> str:
            return "gloo"

        def visible_devices_envvar(self) -> str:
            return "CUDA_VISIBLE_DEVICES"

        @contextlib.contextmanager
        def nvtx_range(self, msg: str) -> Iterator[None]:
            yield

        def profiler_start(self) -> None:
            return None

        def profiler_stop(self) -> None:
            return None

        def ray_resource_name(self) -> str:
            # Symptom: `Total available GPUs 0 is less than total desired GPUs 1`. The pool counts GPU/NPU only,
            # so the launch gives Ray logical GPUs (`+ray_kwargs.ray_init.num_gpus=N`) and workers ask for those.
            return "GPU"

        def ray_noset_envvars(self) -> list[str]:
            return []

        def is_ipc_supported(self) -> bool:
            return False

        def cudart(self) -> Any:
            return None


def _patch_init_process_group() -> None:
    """Symptom: `Duplicate device type cpu in backend string: cpu:gloo,cpu:gloo` (verl builds
    `cpu:gloo,{device}:{backend}`, which on the cpu platform names the CPU twice)."""
    import torch.distributed as dist

    original = dist.init_process_group
    if getattr(original, "_videokr_patched", False):
        return

    @functools.wraps(original)
    def init_process_group(*args: Any, **kwargs: Any) -> Any:
        if "backend" in kwargs:
            kwargs["backend"] = normalize_backend(kwargs["backend"])
        elif args:
            args = (normalize_backend(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group._videokr_patched = True  # type: ignore[attr-defined]
    dist.init_process_group = init_process_group


def _patch_pin_memory() -> None:
    """Symptom: `Found no NVIDIA driver` from `pin_memory()` in the reference worker, which verl builds with a
    forced `CPUOffloadPolicy(pin_memory=True)`; pinning needs CUDA, so it becomes a no-op without it."""
    from torch.distributed.fsdp import CPUOffloadPolicy

    original = CPUOffloadPolicy.__init__
    if getattr(original, "_videokr_patched", False):
        return

    def init_without_pinning(self: Any, pin_memory: bool = True) -> None:
        original(self, pin_memory=pin_memory and torch.cuda.is_available())

    init_without_pinning._videokr_patched = True  # type: ignore[attr-defined]
    CPUOffloadPolicy.__init__ = init_without_pinning  # type: ignore[method-assign]


def _patch_init_empty_weights() -> None:
    """Symptom: `Parameter.__new__() got an unexpected keyword argument '_is_hf_initialized'` on every rank but 0
    once verl runs more than one worker: those ranks build the model under accelerate's `init_empty_weights`, whose
    1.11 release (the cap LLaMA-Factory sets) re-creates each parameter with its `__dict__` as keyword arguments,
    and transformers 5 tags parameters with `_is_hf_initialized`. verl imports `init_empty_weights` from accelerate
    at call time, so a version that passes only `requires_grad` and copies the rest afterwards replaces it."""
    import accelerate

    original = accelerate.init_empty_weights
    if getattr(original, "_videokr_patched", False):
        return

    @contextlib.contextmanager
    def init_empty_weights(include_buffers: bool | None = None) -> Iterator[None]:
        if include_buffers:  # accelerate's own path: everything built under `with torch.device("meta")`
            with original(include_buffers=True):
                yield
            return
        register = torch.nn.Module.register_parameter

        def register_empty_parameter(module: torch.nn.Module, name: str, param: Any) -> None:
            register(module, name, param)
            if param is not None:
                built = module._parameters[name]
                assert built is not None
                empty = type(built)(built.to("meta"), requires_grad=param.requires_grad)
                empty.__dict__.update({k: v for k, v in built.__dict__.items() if k != "requires_grad"})
                module._parameters[name] = empty

        torch.nn.Module.register_parameter = register_empty_parameter  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            torch.nn.Module.register_parameter = register  # type: ignore[method-assign]

    init_empty_weights._videokr_patched = True  # type: ignore[attr-defined]
    accelerate.init_empty_weights = init_empty_weights


def _patch_qwen2_vl_input_embeds() -> None:
    """Symptom: `'BaseModelOutputWithPooling' object has no attribute 'mean'`: the text-only branch of verl's
    Qwen2-VL `_get_input_embeds` runs the vision tower on a dummy image and treats its transformers-5 output as a
    tensor. Rows without video take a fixed copy of that branch; everything else goes to verl's own code."""
    from verl.models.transformers import qwen2_vl

    original: Any = qwen2_vl._get_input_embeds
    if getattr(original, "_videokr_patched", False):
        return

    def _get_input_embeds(
        model: Any,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        image_grid_thw: torch.Tensor | None = None,
        video_grid_thw: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if pixel_values is not None or pixel_values_videos is not None:
            return original(
                model, input_ids, attention_mask, pixel_values, pixel_values_videos, image_grid_thw, video_grid_thw
            )
        inputs_embeds = model.get_input_embeddings()(input_ids)
        config = model.config.vision_config
        patch_dim = config.in_channels * config.temporal_patch_size * config.patch_size**2
        dummy = torch.zeros((16, patch_dim), dtype=inputs_embeds.dtype, device=inputs_embeds.device)
        grid = torch.tensor([[1, 4, 4]], dtype=torch.long, device=inputs_embeds.device)
        embeds, _ = qwen2_vl.unpack_visual_output(model.visual(dummy, grid_thw=grid))
        inputs_embeds = inputs_embeds + 0.0 * embeds.mean()
        if attention_mask is not None:
            attention_mask = attention_mask.to(inputs_embeds.device)
        return inputs_embeds, attention_mask

    _get_input_embeds._videokr_patched = True  # type: ignore[attr-defined]
    qwen2_vl._get_input_embeds = _get_input_embeds


def fix_3d_position_ids(data: Any) -> None:
    """Make nested M-RoPE `position_ids` (rows of shape (4, L)) ragged on the sequence axis.

    verl's `maybe_fix_3d_position_ids` sets `_ragged_idx = 2` blindly, to repair nested tensors that lost it in a
    pickle round trip. When every sequence of a batch has the same length (common with tiny models whose responses
    all hit the length cap) the tensor was built ragged on its first axis instead, and the blind fix turns it into
    `split_with_sizes expects split_sizes to sum exactly to <L>` in `update_actor`. Rows that unbind cleanly are
    rebuilt ragged on the sequence axis; anything else gets verl's own repair.
    """
    from verl.utils.tensordict_utils import nested_tensor_from_tensor_list

    if "position_ids" not in data:
        return
    position_ids = data["position_ids"]
    if not (position_ids.is_nested and position_ids.dim() == 3):
        return
    try:
        rows = position_ids.unbind()
    except RuntimeError:
        rows = ()
    if rows and all(row.dim() == 2 and row.shape[0] in (3, 4) for row in rows):
        data["position_ids"] = nested_tensor_from_tensor_list(list(rows), ragged_idx=2)
    else:
        position_ids._ragged_idx = 2


def _shim_fix_3d_position_ids(data: Any) -> None:
    from videokr.plugins.verl_cpu import fix_3d_position_ids

    fix_3d_position_ids(data)


def _patch_position_ids_fix() -> None:
    """Symptom: `split_with_sizes expects split_sizes to sum exactly to 101 ... got split_sizes=[4, 4, ...]` in
    `update_actor` (Qwen-VL, every sequence of the batch equally long). verl's workers bind the function by name at
    import, so its code object is swapped for a call into `fix_3d_position_ids`."""
    from verl.utils import tensordict_utils

    tensordict_utils.maybe_fix_3d_position_ids.__code__ = _shim_fix_3d_position_ids.__code__


def _register_rollout() -> None:
    """Symptom: `Rollout hf with mode async not found`: 0.9.1 registers only vllm / sglang / trtllm servers."""
    from verl.workers.rollout import base, replica

    base._ROLLOUT_REGISTRY[(HF_ROLLOUT, "async")] = "videokr.plugins.verl_rollout_hf.HFServerAdapter"
    replica.RolloutReplicaRegistry.register(HF_ROLLOUT, _load_replica)


def _load_replica() -> Any:
    from videokr.plugins.verl_rollout_hf import HFReplica

    return HFReplica


def install() -> None:
    """Check the verl version, register the platform and the rollout, apply the fixes (idempotent)."""
    import verl

    check_verl_version(verl.__version__)
    # Symptom: `No engine registered for device='cpu' ... backend='fsdp'`: verl's engine registry is keyed by cuda.
    os.environ.setdefault("VERL_ENGINE_DEVICE", "cuda")
    _register_platform()
    _patch_init_process_group()
    _patch_pin_memory()
    _patch_init_empty_weights()
    _patch_qwen2_vl_input_embeds()
    _patch_position_ids_fix()
    _register_rollout()


install()  # verl imports this module for its side effects (VERL_USE_EXTERNAL_MODULES)

__all__ = [
    "VERL_VERSION",
    "VISION_TOKENS",
    "check_verl_version",
    "fix_3d_position_ids",
    "normalize_backend",
]
