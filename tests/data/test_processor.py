"""videokr.data.processor: a checkpoint's prompt side read from its files, as transformers reads them, and the
prepare-rl length filter that uses it without importing transformers.

The counts themselves are checked against transformers' processor in tests/integration/test_token_counts.py
(test_light_loader_counts_equal_transformers_processor) and against verl in tests/data/test_budget.py.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from videokr.data.budget import PromptBudget
from videokr.data.processor import (
    compile_chat_template,
    processor_section,
    read_chat_template,
    special_tokens_map,
    video_processor_config,
)
from videokr.data.rl import prepare_rl
from videokr.data.synth import write_video
from videokr.data.videos import probe_video
from videokr.errors import ConfigError

# Exercises what transformers sets up: trim/lstrip blocks, loopcontrols, its tojson (no HTML escaping, options),
# raise_exception, strftime_now, the {% generation %} tag, special tokens passed as variables.
TEMPLATE = """{% for m in messages %}
  {% if loop.index > 2 %}{% break %}{% endif %}
  {% if m.role == 'tool' %}{{ raise_exception('no tools') }}{% endif %}
  {% generation %}<{{ m.role }}>{{ m.content | tojson }}{{ m | tojson(indent=1, sort_keys=true) }}{% endgeneration %}
{% endfor %}
{{ eos_token }}{% if add_generation_prompt %}{{ strftime_now('%Y')[:2] }}{% endif %}"""
MESSAGES = [
    {"role": "user", "content": '<b>&"quotes" é'},
    {"role": "assistant", "content": "a"},
    {"role": "user", "content": "never rendered"},
]


def test_chat_template_renders_like_transformers() -> None:
    from transformers.utils.chat_template_utils import render_jinja_template

    expected, _ = render_jinja_template([MESSAGES], chat_template=TEMPLATE, add_generation_prompt=True, eos_token="E")
    ours = compile_chat_template(TEMPLATE).render(
        messages=MESSAGES, tools=None, documents=None, add_generation_prompt=True, eos_token="E"
    )
    assert ours == expected[0]
    assert "<b>&" in ours  # not HTML-escaped


def test_chat_template_raise_exception_is_a_template_error() -> None:
    import jinja2

    with pytest.raises(jinja2.exceptions.TemplateError, match="no tools"):
        compile_chat_template(TEMPLATE).render(messages=[{"role": "tool", "content": ""}])


def _write(root: Path, files: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return root


@pytest.mark.parametrize(
    "files, expected",
    [
        pytest.param({"chat_template.jinja": "J"}, "J", id="jinja_file"),
        pytest.param(
            {"chat_template.jinja": "J", "chat_template.json": {"chat_template": "L"}}, "L", id="legacy_json"
        ),
        pytest.param(
            {"chat_template.jinja": "J", "processor_config.json": {"chat_template": "P"}}, "P", id="processor_key"
        ),
        pytest.param({"chat_template.jinja": "J", "chat_templates/tool.jinja": "T"}, "J", id="default_of_several"),
    ],
)
def test_chat_template_source_follows_processor_precedence(tmp_path: Path, files: dict, expected: str) -> None:
    root = _write(tmp_path / "ckpt", files)
    nested = json.loads((root / "processor_config.json").read_text()) if "processor_config.json" in files else {}
    assert read_chat_template(root, nested) == expected


@pytest.mark.parametrize(
    "files, message",
    [
        pytest.param({"tokenizer_config.json": {"chat_template": "X"}}, "tokenizer_config.json", id="tokenizer_only"),
        pytest.param({"chat_templates/a.jinja": "A", "chat_templates/b.jinja": "B"}, "none named", id="no_default"),
    ],
)
def test_chat_template_missing_names_the_fix(tmp_path: Path, files: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_chat_template(_write(tmp_path / "ckpt", files), {})


def test_processor_section_prefers_nested_then_video_file(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "ckpt", {"video_preprocessor_config.json": {"v": 1}, "preprocessor_config.json": {"i": 1}}
    )
    names = ("video_preprocessor_config.json", "preprocessor_config.json")
    assert processor_section(root, {"video_processor": {"n": 1}}, "video_processor", names) == {"n": 1}
    assert processor_section(root, {}, "video_processor", names) == {"v": 1}
    assert processor_section(root, {}, "image_processor", ("preprocessor_config.json",)) == {"i": 1}
    with pytest.raises(ConfigError, match="no image_processor settings"):
        processor_section(root, {}, "image_processor", ("missing.json",))


@pytest.mark.parametrize(
    "family, settings, expected",
    [
        pytest.param("qwen2_5_vl", {}, (14, 100352, 602112), id="qwen25_class_defaults"),
        pytest.param("qwen2_5_vl", {"patch_size": None, "min_pixels": 3136}, (14, 3136, 602112), id="qwen25_null_min"),
        pytest.param(
            "qwen2_5_vl",
            {"size": {"shortest_edge": 1, "longest_edge": 2}, "max_pixels": 6272},
            (14, 1, 6272),
            id="qwen25_max_pixels_over_size",
        ),
        pytest.param("qwen3_vl", {"min_pixels": 3136}, (16, 131072, 786432), id="qwen3_ignores_min_pixels"),
        pytest.param(
            "qwen3_vl", {"size": {"shortest_edge": 4096, "longest_edge": 8192}}, (16, 4096, 8192), id="qwen3"
        ),
    ],
)
def test_video_processor_config_applies_class_rules(family: Any, settings: dict, expected: tuple) -> None:
    config = video_processor_config(settings, family)
    assert (config.patch_size, config.min_pixels, config.max_pixels) == expected


def test_special_tokens_map_named_then_model_specific() -> None:
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "bos_token": None,
        "eos_token": {"__type": "AddedToken", "content": "<|im_end|>"},
        "image_token": "<|image_pad|>",
        "add_bos_token": True,
        "extra_special_tokens": {"video_token": "<|video_pad|>"},
    }
    assert special_tokens_map(config) == {
        "eos_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",  # Qwen2Tokenizer's default for an absent key
        "pad_token": "<|endoftext|>",
        "image_token": "<|image_pad|>",
        "video_token": "<|video_pad|>",
    }


def _corpus(root: Path, count: int) -> Path:
    rows = []
    for i in range(count):
        write_video(root / "videos" / f"v{i}.mp4", width=64 + 16 * (i % 4), height=64, fps=8.0, seconds=1.0 + i / 2)
        question = "What happens to the flame? " * (1 + 3 * i)
        rows.append(
            {
                "problem_id": f"p{i}",
                "problem_type": "multiple choice",
                "question": question,
                "options": ["A. x", "B. y"],
                "solution": "<answer>B</answer>",
                "video_path": f"videos/v{i}.mp4",
            }
        )
    path = root / "rl.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _real_lengths(corpus: Path, out: Path, model: Path) -> dict[str, int]:
    """problem_id -> prompt length through transformers' processor, on the rows prepare-rl writes."""
    result = prepare_rl(corpus, out, corpus.parent, val_size=1, seed=0)
    budget = PromptBudget.from_transformers(model)
    lengths = {}
    for row in pq.read_table(result.train).to_pylist() + pq.read_table(result.test).to_pylist():
        entry = dict(row["videos"][0])
        info = probe_video(entry.pop("video"))
        lengths[row["extra_info"]["problem_id"]] = budget.count(row["prompt"], info, entry)
    return lengths


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_prepare_rl_cli_with_model_never_imports_transformers(tmp_path: Path, tiny_models: Any, family: str) -> None:
    model = tiny_models(family)
    corpus = _corpus(tmp_path / "corpus", 6)
    lengths = _real_lengths(corpus, tmp_path / "unfiltered", model)
    limit = int(statistics.median(lengths.values()))
    argv = ["data", "prepare-rl", "--input", str(corpus), "--output-dir", str(tmp_path / "out")]
    argv += ["--video-root", str(corpus.parent), "--val-size", "1", "--seed", "0"]
    argv += ["--model", str(model), "--max-prompt-length", str(limit)]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "videokr", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    packages = {name.split(".")[0] for name in imported}
    assert not packages & {"transformers", "torch"}
    assert {"tokenizers", "jinja2"} <= packages  # the light loader did the counting
    dropped = [json.loads(line) for line in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()]
    assert {d["problem_id"] for d in dropped if d["reason"] == "too_long"} == {
        pid for pid, n in lengths.items() if n > limit
    }
    assert 0 < len(dropped) < len(lengths)
