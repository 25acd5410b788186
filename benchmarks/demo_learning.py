"""Does the demo corpus teach a tiny Qwen-VL, and how fast? A plain-PyTorch SFT loop, timed, with held-out MC accuracy.

Run: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/demo_learning.py --out /tmp/demo_learning` (the defaults are
the demo's: DemoSettings and the sft section of the shipped demo recipe). `--base-model DIR` and `--corpus DIR`
reuse a base and a corpus; `--checkpoint DIR --corpus DIR` only probes a trained checkpoint (e.g. the output_dir of
`videokr train sft demo`) on the held-out MC rows, with real and blanked clips.
It builds the demo corpus, the perception-trained base model (`videokr.tiny.train.prepare_base_model`), then runs SFT
with the vision tower frozen (as the published SFT) on the SFT prompt (`render_prompt(sample, "sft")`) and target,
and every `--eval-every` steps scores greedy answers on the held-out multiple-choice rows rendered with the eval
prompt, on the real clips and on blanked clips. Prints one JSON line per probe and a summary; CPU seconds are
process time (what the loop costs on an idle core), wall seconds what it took on this machine.
"""

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from videokr.answers import extract_choice, extract_eval_answer
from videokr.data.read import read_samples
from videokr.data.synth import FLAMES, SKILLS, DemoCorpus, answer_value, generate_demo_corpus, think_text
from videokr.prompts import render_prompt, render_sft_target
from videokr.records import Sample
from videokr.tiny.train import (
    CAPTION_PROMPTS,
    Example,
    TrainSettings,
    encode_examples,
    generate,
    prepare_base_model,
    train,
)

# any answer value (colour, element, atomic number) -> its knowledge-bank entry
FLAME_OF = {answer_value(f, skill): f for f in FLAMES for skill in SKILLS}


def samples(path: Path) -> list[Sample]:
    """Every sample of a corpus file (the generator only writes valid rows)."""
    return [s for _, s in read_samples(path) if isinstance(s, Sample)]


def mc_accuracy(
    model: Any, processor: Any, encoded: list[dict[str, Any]], rows: list[Sample]
) -> tuple[float, list[str]]:
    """Percent of multiple-choice rows whose generated answer letter equals the solution."""
    outputs = generate(model, processor, encoded, max_new_tokens=48)
    hits = sum(
        extract_choice(extract_eval_answer(out)) == row.solution for out, row in zip(outputs, rows, strict=True)
    )
    return 100.0 * hits / len(rows), outputs


def existing_corpus(root: Path) -> DemoCorpus:
    """The paths of a corpus already written by `generate_demo_corpus(root)`."""
    return DemoCorpus.at(root, blank=(root / "blank").is_dir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/demo_learning"))
    parser.add_argument("--family", default="qwen3_vl")
    parser.add_argument("--size", default="small")
    parser.add_argument("--n-train", type=int, default=900)
    parser.add_argument("--n-eval", type=int, default=150)
    parser.add_argument("--n-caption", type=int, default=600)
    parser.add_argument("--perception-steps", type=int, default=800)
    parser.add_argument("--sft-steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--perception-lr-vision", type=float, default=1e-2)
    parser.add_argument("--base-model", type=Path, help="reuse this perception-trained base (skip building one)")
    parser.add_argument(
        "--corpus", type=Path, help="reuse this demo corpus (skip generating one; --option-order etc. are then moot)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="only probe this trained checkpoint (e.g. LLaMA-Factory's output_dir) on the held-out MC rows",
    )
    parser.add_argument("--perception-only", action="store_true", help="stop after probing the base model's colours")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--option-order", default="fixed", choices=["shuffled", "fixed"])
    parser.add_argument("--prompt-style", default="compat", choices=["compat", "unified"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    def report(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    wall, cpu = time.perf_counter(), time.process_time()
    corpus = (
        existing_corpus(args.corpus)
        if args.corpus
        else generate_demo_corpus(
            args.out / "corpus",
            n_train=args.n_train,
            n_rl=0,
            n_eval=args.n_eval,
            n_caption=args.n_caption,
            seed=args.seed,
            option_order=args.option_order,
        )
    )
    report(stage="corpus", wall_s=round(time.perf_counter() - wall, 1), cpu_s=round(time.process_time() - cpu, 1))

    wall, cpu = time.perf_counter(), time.process_time()
    perception = TrainSettings(
        steps=args.perception_steps, batch_size=args.batch_size, warmup_steps=30, seed=args.seed
    )
    base = (
        args.checkpoint
        or args.base_model
        or prepare_base_model(
            args.out / "base",
            corpus.caption_file,
            corpus.video_root,
            family=args.family,
            size=args.size,
            settings=perception,
            overwrite=True,
        )
    )
    report(stage="base", wall_s=round(time.perf_counter() - wall, 1), cpu_s=round(time.process_time() - cpu, 1))

    import transformers

    processor = transformers.AutoProcessor.from_pretrained(base)
    model = transformers.AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    train_rows = samples(corpus.sft_file)
    eval_rows = [s for s in samples(corpus.eval_file) if s.is_multiple_choice]
    probes = {
        name: encode_examples(
            processor,
            [Example(root / s.video_path, render_prompt(s, "eval", args.prompt_style)) for s in eval_rows],
            4,
            with_targets=False,
        )
        for name, root in (("video", corpus.video_root), ("blank", corpus.blank_video_root))
        if root is not None
    }
    if args.checkpoint:
        wall, cpu = time.perf_counter(), time.process_time()
        chance = 100.0 * sum(1 / len(s.options) for s in eval_rows) / len(eval_rows)
        acc = {name: mc_accuracy(model, processor, enc, eval_rows) for name, enc in probes.items()}
        report(
            stage="checkpoint_probe",
            checkpoint=str(args.checkpoint),
            n=len(eval_rows),
            chance=round(chance, 1),
            accuracy=round(acc["video"][0], 1),
            blank_accuracy=round(acc["blank"][0], 1),
            probe_wall_s=round(time.perf_counter() - wall, 1),
            sample=acc["video"][1][:2],
        )
        return
    captions = encode_examples(
        processor,
        [Example(corpus.video_root / s.video_path, CAPTION_PROMPTS[-1]) for s in eval_rows],
        4,
        with_targets=False,
    )
    seen = generate(model, processor, captions, max_new_tokens=12)
    right = sum(
        out.strip() == think_text(FLAME_OF[s.options[ord(s.solution) - 65].split(". ", 1)[1]], "VidR")
        for out, s in zip(seen, eval_rows, strict=True)
    )
    report(stage="perception_probe", colour_accuracy=round(100.0 * right / len(eval_rows), 1), sample=seen[:3])
    if args.perception_only:
        return
    train_set = encode_examples(
        processor,
        [
            Example(corpus.video_root / s.video_path, render_prompt(s, "sft", args.prompt_style), render_sft_target(s))
            for s in train_rows
        ],
        4,
        with_targets=True,
    )
    chance = 100.0 * sum(1 / len(s.options) for s in eval_rows) / len(eval_rows)

    probe_cost = [0.0, 0.0]  # wall, cpu spent probing, subtracted from the training times
    started = [time.perf_counter(), time.process_time()]

    def probe(step: int) -> None:
        if step % args.eval_every and step != args.sft_steps:
            return
        wall, cpu = time.perf_counter(), time.process_time()
        train_wall = wall - started[0] - probe_cost[0]
        train_cpu = cpu - started[1] - probe_cost[1]
        acc = {name: mc_accuracy(model, processor, enc, eval_rows) for name, enc in probes.items()}
        colours = [FLAME_OF[s.options[ord(s.solution) - 65].split(". ", 1)[1]].colour for s in eval_rows]
        said = sum(
            out.startswith(f"<think>The flame is {c}.") for out, c in zip(acc["video"][1], colours, strict=True)
        )
        model.train()
        report(
            step=step,
            train_wall_s=round(train_wall, 1),
            train_cpu_s=round(train_cpu, 1),
            n=len(eval_rows),
            chance=round(chance, 1),
            accuracy=acc["video"][0],
            blank_accuracy=acc["blank"][0],
            think_colour_accuracy=round(100.0 * said / len(eval_rows), 1),
            sample=acc["video"][1][:2],
        )
        probe_cost[0] += time.perf_counter() - wall
        probe_cost[1] += time.process_time() - cpu

    probe(0)
    sft = TrainSettings(
        steps=args.sft_steps,
        batch_size=args.batch_size,
        lr_text=args.lr,
        train_vision=False,
        warmup_steps=max(1, args.sft_steps // 20),
        seed=args.seed,
    )
    train(model, processor, train_set, sft, callback=probe)


if __name__ == "__main__":
    main()
