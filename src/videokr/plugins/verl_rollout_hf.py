"""verl's async rollout contract served by HF `generate` on CPU: the `hf` replica of `videokr.plugins.verl_cpu`.

verl 0.9.1 drives rollouts through three pieces: a replica (launches server actors), the server actor
(`generate(prompt_ids, sampling_params, ..., video_data)` -> TokenOutput, plus sleep / wake-up / abort calls) and a
server adapter living inside each FSDP actor worker (receives the trained weights). This module supplies all three
for a Hugging Face model: prompts arrive as the processor-expanded token ids the trainer also uses, the video frames
arrive as verl's (frames, metadata) pairs and go through the same processor call, so the rollout and the actor see
identical inputs; weights are copied from the actor's state dict after every update.

Rollouts are reproducible: each request samples from its own random stream, seeded by the configured seed, the
training step, its content (prompt ids and frames), its request id and which copy it is, as an argmax over
Gumbel-perturbed logits (`RowSampler`), so neither the batch it lands in nor arrival order or timing changes what it
draws (verl's agent loop sends each request as soon as its frames are processed). Under verl's
`rollout.full_determinism`, which the CPU launch sets, request ids are the prompts' batch positions; a prompt's
`rollout.n` copies share one id and take the 1st, 2nd, ... draw in turn, so a step's samples per prompt are the
same in every run. Which copy holds which sample can change; `videokr.plugins.verl_replay` orders a prompt's
copies by their responses, so the trainer sees the same rows in the same order. Requests that arrive together (until none has come for `QUIET_S`) share one `generate` call.
"""

import asyncio
import functools
import hashlib
import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import ray
import torch
from transformers import LogitsProcessor, LogitsProcessorList, TopKLogitsWarper, TopPLogitsWarper
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.config import HFModelConfig
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, TokenOutput

from videokr.engines.hooks import HF_ROLLOUT
from videokr.plugins.verl_cpu import VISION_TOKENS

logger = logging.getLogger(__name__)

VIDEO_KEYS = ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")
# A batch starts once no request has arrived for this long: a step's requests come one per few milliseconds.
QUIET_S = 0.25
MAX_BATCH = 64


def server_name(replica_rank: int) -> str:
    """The Ray actor name of a replica's server (the adapter looks it up by this name)."""
    return f"{HF_ROLLOUT}_server_{replica_rank}_0"


def sampled_log_probs(logits: tuple[torch.Tensor, ...], tokens: torch.Tensor, temperature: float) -> list[float]:
    """Log-probability of each sampled token under the model's full-vocabulary distribution at `temperature`.

    This is what verl's actor computes for the same tokens (the suppressed vision tokens stay in the softmax), so
    the rollout / actor log-prob comparison measures only numerics.

    >>> logits = (torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
    >>> [round(x, 4) for x in sampled_log_probs(logits, torch.tensor([1, 0]), 1.0)]
    [-0.6931, -0.1269]
    """
    scale = temperature if temperature > 0 else 1.0
    out = []
    for step, token in zip(logits, tokens.tolist(), strict=False):
        out.append(float(torch.log_softmax(step[0].float() / scale, dim=-1)[token]))
    return out


@dataclass(eq=False)
class _Request:
    prompt_ids: list[int]
    sampling: dict[str, Any]
    video_data: list[Any] | None
    mm_kwargs: dict[str, Any] | None
    request_id: str = ""
    future: Any = None

    @functools.cached_property
    def digest(self) -> bytes:
        """What this request asks for: its prompt ids and its frames (equal digests, equal requests); hashed once."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((self.prompt_ids, sorted((self.mm_kwargs or {}).items()))).encode())
        for frames, *_ in self.video_data or ():
            digest.update(torch.as_tensor(frames).contiguous().numpy().tobytes())
        return digest.digest()


def request_seed(seed: int, global_steps: int | None, digest: bytes, request_id: str) -> int:
    """One request's sampling seed: the configured seed, the training step, the request's content and its id.

    >>> request_seed(1, 3, b"a", "det-0") == request_seed(1, 3, b"a", "det-0") != request_seed(1, 3, b"a", "det-1")
    True
    """
    mixed = hashlib.blake2b(repr((seed, global_steps, request_id)).encode() + digest, digest_size=8)
    return int.from_bytes(mixed.digest(), "little") % 2**63


class RowSampler(LogitsProcessor):
    """Sampling at `temperature` (with top-k / top-p) as an argmax over Gumbel-perturbed logits, one generator a row.

    Each row's draws come from its own seeded stream, so they do not depend on which other requests share the batch.
    """

    def __init__(self, seeds: list[int], temperature: float, top_k: int = 0, top_p: float = 1.0) -> None:
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature = temperature
        self.warpers: list[LogitsProcessor] = []
        if top_k > 0:
            self.warpers.append(TopKLogitsWarper(top_k))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        warped = scores.float() / self.temperature
        for warper in self.warpers:
            warped = warper(input_ids, warped)
        width = warped.shape[-1]
        # -log(E) with E ~ Exp(1) is Gumbel(0, 1): argmax(scores + noise) samples softmax(scores)
        noise = torch.stack([-torch.empty(width).exponential_(generator=g).log() for g in self.generators])
        return warped + noise  # type: ignore[return-value]  # transformers annotates FloatTensor, returns Tensor


def sampling_key(sampling: dict[str, Any]) -> tuple[Any, ...]:
    """Requests with equal keys can share one `generate` call."""
    return tuple(sampling.get(k) for k in ("temperature", "top_p", "top_k", "max_tokens", "logprobs"))


def cut_at_eos(tokens: list[int], eos: list[int]) -> list[int]:
    """A generated row up to and including its first end token (later positions are padding).

    >>> cut_at_eos([5, 6, 2, 0, 0], [2])
    [5, 6, 2]
    >>> cut_at_eos([5, 6], [2])
    [5, 6]
    """
    for index, token in enumerate(tokens):
        if token in eos:
            return tokens[: index + 1]
    return tokens


def left_pad(rows: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Batch single-request inputs: token-level tensors left-padded, video features concatenated in order.

    >>> out = left_pad([{"input_ids": torch.tensor([[7, 8]]), "attention_mask": torch.tensor([[1, 1]])},
    ...                 {"input_ids": torch.tensor([[9]]), "attention_mask": torch.tensor([[1]])}], 0)
    >>> out["input_ids"].tolist(), out["attention_mask"].tolist()
    ([[7, 8], [0, 9]], [[1, 1], [0, 1]])
    """
    width = max(row["input_ids"].shape[1] for row in rows)
    batch: dict[str, Any] = {}
    for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("mm_token_type_ids", 0)):
        if key in rows[0]:
            padded = [torch.nn.functional.pad(r[key], (width - r[key].shape[1], 0), value=fill) for r in rows]
            batch[key] = torch.cat(padded)
    for key in VIDEO_KEYS:
        parts = [r[key] for r in rows if key in r]
        if parts:
            batch[key] = torch.cat(parts)
    return batch


class HFServer:
    """One rollout server: an HF model answering verl's token-in / token-out `generate` calls in batches."""

    def __init__(self, config: Any, model_config: Any, replica_rank: int) -> None:
        from transformers import AutoModelForImageTextToText

        self.config = config
        self.model_config: HFModelConfig = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.replica_rank = replica_rank
        self.global_steps: int | None = None
        self.processor = self.model_config.processor
        self.tokenizer = self.model_config.tokenizer
        dtype = getattr(torch, str(config.dtype)) if isinstance(config.dtype, str) else config.dtype
        self.model = AutoModelForImageTextToText.from_pretrained(
            self.model_config.local_path, dtype=dtype, attn_implementation="sdpa"
        ).eval()
        self.suppress = self._vision_token_ids()
        self.eos = self._eos_ids()
        self.seed = int(getattr(config, "seed", 0) or 0)
        self._pending: list[_Request] = []
        self._arrived = 0  # requests received so far: the drain loop waits until this stops changing
        self._draws: dict[tuple[bytes, str], int] = {}  # draws per (content, request id) since the last step began
        self._worker: asyncio.Task[None] | None = None

    def _vision_token_ids(self) -> list[int]:
        vocab = self.tokenizer.get_vocab()
        return sorted({vocab[token] for token in VISION_TOKENS if token in vocab})

    def _eos_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")}
        configured = self.model.generation_config.eos_token_id
        ids.update(configured if isinstance(configured, list) else [configured])
        unk = self.tokenizer.unk_token_id
        return sorted(i for i in ids if isinstance(i, int) and i != unk)

    def _inputs(self, prompt_ids: list[int], video_data: list[Any] | None, mm_kwargs: dict[str, Any] | None) -> dict:
        """Model inputs of one request: its token ids and the processor's features for its frames."""
        input_ids = torch.tensor([prompt_ids], dtype=torch.long)
        inputs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        if video_data:
            from verl.utils.tokenizer import build_multimodal_processor_inputs

            placeholder = "<|vision_start|><|video_pad|><|vision_end|>" * len(video_data)
            features = build_multimodal_processor_inputs(
                self.processor, text=[placeholder], videos=list(video_data), mm_processor_kwargs=mm_kwargs
            )
            for key in VIDEO_KEYS:
                if key in features:
                    inputs[key] = features[key]
        if hasattr(self.processor, "create_mm_token_type_ids"):
            # transformers 5 computes M-RoPE positions from these; the processor would have returned them.
            inputs["mm_token_type_ids"] = torch.tensor(self.processor.create_mm_token_type_ids([prompt_ids]))
        return inputs

    def _options(
        self, sampling: dict[str, Any], longest_prompt: int, seeds: list[int]
    ) -> tuple[dict[str, Any], float]:
        """`generate` options: greedy at temperature 0, else the rows' own seeded sampling (RowSampler)."""
        temperature = float(sampling.get("temperature", 1.0) or 0.0)
        top_k = int(sampling.get("top_k", -1) or -1)
        budget = self.config.prompt_length + self.config.response_length - longest_prompt
        max_new = max(1, min(int(sampling.get("max_tokens", self.config.response_length)), budget))
        options: dict[str, Any] = {
            "max_new_tokens": max_new,
            "do_sample": False,  # sampling, when asked for, is the argmax of RowSampler's perturbed logits
            "suppress_tokens": self.suppress,
            "eos_token_id": self.eos,
            "pad_token_id": self.tokenizer.pad_token_id,
            "return_dict_in_generate": True,
            "output_logits": True,
        }
        if temperature > 0:
            top_p = float(sampling.get("top_p", 1.0) or 1.0)
            options["logits_processor"] = LogitsProcessorList([RowSampler(seeds, temperature, max(top_k, 0), top_p)])
        return options, temperature

    def _seeds(self, requests: list["_Request"], digests: list[bytes]) -> list[int]:
        """Each request's seed; equal requests (a prompt's `rollout.n` copies share their id) count as 1st, 2nd, ..."""
        seeds = []
        for digest, request in zip(digests, requests, strict=True):
            key = (digest, request.request_id)
            copy = self._draws.get(key, 0)
            self._draws[key] = copy + 1
            seeds.append(request_seed(self.seed, self.global_steps, digest, f"{request.request_id}#{copy}"))
        return seeds

    def _generate_batch(self, requests: list["_Request"], digests: list[bytes]) -> list[TokenOutput]:
        """One left-padded `generate` call for requests sharing their sampling parameters."""
        rows = [self._inputs(r.prompt_ids, r.video_data, r.mm_kwargs) for r in requests]
        inputs = left_pad(rows, self.tokenizer.pad_token_id)
        seeds = self._seeds(requests, digests)
        options, temperature = self._options(requests[0].sampling, max(len(r.prompt_ids) for r in requests), seeds)
        with torch.no_grad():
            out = self.model.generate(**inputs, **options)
        width = inputs["input_ids"].shape[1]
        outputs = []
        for row, request in enumerate(requests):
            tokens = cut_at_eos(out.sequences[row, width:].tolist(), self.eos)
            logits = tuple(step[row : row + 1] for step in out.logits[: len(tokens)])
            log_probs = None
            if request.sampling.get("logprobs"):
                log_probs = sampled_log_probs(logits, torch.tensor(tokens), temperature)
            extra = {"global_steps": self.global_steps}
            outputs.append(
                TokenOutput(token_ids=tokens, log_probs=log_probs, stop_reason="completed", extra_fields=extra)
            )
        return outputs

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: list[Any] | None = None,
        video_data: list[Any] | None = None,
        mm_processor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> TokenOutput:
        """verl's token-in / token-out call; concurrent requests are batched into one `generate` off the loop."""
        if image_data:
            raise NotImplementedError("the hf rollout serves video and text prompts only")
        request = _Request(list(prompt_ids), dict(sampling_params), video_data, mm_processor_kwargs, str(request_id))
        request.future = asyncio.get_running_loop().create_future()
        self._pending.append(request)
        self._arrived += 1
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await request.future

    async def _drain(self) -> None:
        while self._pending:
            seen = -1
            while seen != self._arrived:  # let the rest of a step's requests arrive
                seen = self._arrived
                await asyncio.sleep(QUIET_S)
            # content order (then request id): the same batches, padded the same way, whatever the arrival order
            pending = sorted(((r.digest, r) for r in self._pending), key=lambda pair: (pair[0], pair[1].request_id))
            key = sampling_key(pending[0][1].sampling)
            chosen = [pair for pair in pending if sampling_key(pair[1].sampling) == key][:MAX_BATCH]
            batch = [request for _, request in chosen]
            self._pending = [request for request in self._pending if all(request is not b for b in batch)]
            try:
                results = await asyncio.to_thread(self._generate_batch, batch, [digest for digest, _ in chosen])
            except Exception as exc:  # hand the failure to every waiting caller
                for request in batch:
                    request.future.set_exception(exc)
            else:
                for request, result in zip(batch, results, strict=True):
                    request.future.set_result(result)

    async def load_weights(self, state: dict[str, torch.Tensor], global_steps: int | None = None) -> int:
        """Copy the actor's weights (HF names) into the model; returns how many tensors were loaded."""
        own = self.model.state_dict()
        unknown = sorted(set(state) - set(own))
        if unknown:
            raise KeyError(f"actor weights not in the rollout model: {unknown[:5]}")
        with torch.no_grad():
            for name, tensor in state.items():
                own[name].copy_(tensor.to(own[name].dtype))
        if global_steps is not None:
            self.global_steps = global_steps
        self._draws = {}  # new weights: a new step's draws
        return len(state)

    async def set_global_steps(self, global_steps: int) -> None:
        """Model version stamped on every output; a step begins, and its draws count from the first again."""
        self.global_steps = global_steps
        self._draws = {}

    async def abort_all_requests(self, **kwargs: Any) -> dict[str, Any]:
        """Requests are never interrupted: nothing to abort."""
        return {"aborted_count": 0, "request_ids": []}

    async def abort_request(self, request_id: str, **kwargs: Any) -> dict[str, Any]:
        """Requests are never interrupted: nothing to abort."""
        return {"aborted": False, "request_id": request_id}

    async def _noop(self, *args: Any, **kwargs: Any) -> None:
        return None

    wake_up = sleep = clear_kv_cache = release_kv_cache = resume_kv_cache = _noop
    resume_generation = resume_engine_generation = open_submission_gate = wait_for_requests_to_drain = _noop
    start_profile = stop_profile = _noop


class HFReplica(RolloutReplica):
    """A replica of one `HFServer` actor (CPU only: tensor / pipeline parallel sizes must be 1)."""

    async def launch_servers(self) -> None:
        """Start the server actor (no Ray resources: it shares the machine with the FSDP workers)."""
        if self.world_size != 1:
            raise ValueError(f"the hf rollout runs one process per replica; got world size {self.world_size}")
        server: Any = (
            ray.remote(HFServer)
            .options(name=server_name(self.replica_rank), num_cpus=0, max_concurrency=self.max_concurrency)
            .remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        )
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"{HF_ROLLOUT}-{self.replica_rank}"


class HFServerAdapter(BaseRollout):
    """Lives in each FSDP actor worker; pushes the actor's full weights to its replica's server after updates."""

    def __init__(self, config: Any, model_config: Any, device_mesh: Any, replica_rank: int = -1) -> None:
        import os

        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", "0"))
        self.replica_rank = rank if replica_rank == -1 else replica_rank
        self.is_leader_rank = rank == self.replica_rank
        self._server: Any = None

    def _handle(self) -> Any:
        if self._server is None:
            self._server = ray.get_actor(server_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        """Weights and cache live in host memory: nothing to resume."""

    async def release(self) -> None:
        """Weights and cache live in host memory: nothing to release."""

    async def update_weights(
        self,
        weights: Generator[tuple[str, torch.Tensor], None, None],
        wire_format: str = "named_tensors",
        global_steps: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Gather every tensor (each rank must walk the generator: DTensor.full_tensor is collective), send once."""
        if wire_format != "named_tensors":
            raise NotImplementedError(f"the hf rollout takes full tensors, not {wire_format!r}")
        state = {}
        if hasattr(weights, "__aiter__"):
            async for name, tensor in weights:
                state[name] = tensor.detach().to("cpu", copy=True)
        else:
            for name, tensor in weights:
                state[name] = tensor.detach().to("cpu", copy=True)
        if self.is_leader_rank:
            await self._handle().load_weights.remote(state, global_steps)
