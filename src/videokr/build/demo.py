"""The build demo: the flame-test knowledge bank, seeds and clips, through the whole build offline.

`write_demo_inputs` writes a bank (six flame tests, plus one duplicate line to show a reported issue), seeds for
the three skills, `clips_per_colour` short PyAV clips per colour and a catalog (one row without a licence, also
reported). The shipped `build-demo` recipe runs them with the built-in `template` generator and plants shortcut
items and bad rationales; the text-only video-dependency filter and the rationale rule must remove them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videokr.io import write_jsonl
from videokr.run.graph import Progress, RunResult

LICENCE = "CC BY 4.0 (synthetic demo clip)"


@dataclass(frozen=True)
class DemoBuildInputs:
    """Paths of the demo's inputs."""

    bank: Path
    seeds: Path
    catalog: Path


def write_demo_inputs(out: Path, clips_per_colour: int = 1, size: int = 32) -> DemoBuildInputs:
    """Write the demo's bank, seeds, clips and catalog under `out`."""
    from videokr.data.synth import FLAMES, QUESTIONS, answer_value, flame_painter, think_text, write_video

    bank = [
        {
            "id": f"flame-{f.element}",
            "discipline": "Natural Sciences",
            "subject": "Chemistry",
            "course": "Analytical chemistry",
            "lecture": "Flame tests",
            "name": f"Flame test of {f.element}",
            "definition": f"{f.element.capitalize()} salts colour a flame {f.colour}; {f.element} has atomic number {f.atomic_number}.",
            "facts": {"colour": f.colour, "element": f.element, "atomic_number": f.atomic_number},
        }
        for f in FLAMES
    ]
    bank.append({**bank[0], "definition": "a second entry under the same id (reported, not used)"})
    seeds = [
        {
            "id": f"seed-{skill}-{f.element}",
            "skill": skill,
            "discipline": "Natural Sciences",
            "question": QUESTIONS[skill],
            "answer": answer_value(f, skill),
            "think": think_text(f, skill),
        }
        for skill in QUESTIONS
        for f in FLAMES[:2]
    ]
    catalog = []
    for index, flame in enumerate(f for f in FLAMES for _ in range(clips_per_colour)):
        relative = f"clips/{flame.colour}_{index:03d}.mp4"
        write_video(
            out / relative,
            width=size,
            height=size,
            fps=4.0,
            seconds=1.0,
            painter=flame_painter(size, size, flame.rgb, index),
        )
        catalog.append(
            {
                "video_path": relative,
                "source_id": f"demo-{index:03d}",
                "licence": LICENCE,
                "title": f"Flame test {index}",
                "knowledge_id": f"flame-{flame.element}",
            }
        )
    catalog.append(
        {"video_path": catalog[0]["video_path"], "source_id": "demo-unlicensed", "title": "no licence: reported"}
    )
    paths = DemoBuildInputs(out / "bank.jsonl", out / "seeds.jsonl", out / "catalog.jsonl")
    write_jsonl(paths.bank, bank)
    write_jsonl(paths.seeds, seeds)
    write_jsonl(paths.catalog, catalog)
    return paths


def run_build_demo(
    out: str | Path = "runs/build-demo",
    overrides: Sequence[str] = (),
    *,
    clips_per_colour: int = 1,
    dry_run: bool = False,
    on_stage: Progress | None = None,
) -> RunResult:
    """Write the demo's inputs into `out/inputs` (once) and run the shipped build-demo recipe into `out`."""
    from videokr.build.stages import run_build

    root = Path(out).absolute()
    inputs = DemoBuildInputs(
        root / "inputs" / "bank.jsonl", root / "inputs" / "seeds.jsonl", root / "inputs" / "catalog.jsonl"
    )
    if not dry_run and not inputs.catalog.is_file():
        inputs = write_demo_inputs(root / "inputs", clips_per_colour)
    paths = [
        f"output_dir={root}",
        f"inputs.bank={inputs.bank}",
        f"inputs.seeds={inputs.seeds}",
        f"collect.catalog={inputs.catalog}",
    ]
    return run_build("build-demo", [*paths, *overrides], dry_run=dry_run, on_stage=on_stage)
