"""Synthetic videos (PyAV) for tests and benchmarks, and the demo corpus; nothing here needs the network.

The demo corpus (`generate_demo_corpus`, DESIGN.md section 6) is a flame test: each clip shows a flickering flame
of one colour; the knowledge bank FLAMES maps the colour to the element whose flame test gives it and that element
to its atomic number. Three skills ask one, two or three steps along that chain (VidR: the colour; KnowVid: the
element; KnowVidR: the atomic number), as multiple choice (four options) or open-ended (a short phrase), so no
answer can be given without the clip: a pipeline that drops the video, mixes up prompts or mis-scores answers
lands near chance. Run: `python -c "from videokr.data.synth import generate_demo_corpus as g; g('runs/demo/corpus')"`.
"""

import logging
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from tqdm import tqdm

from videokr.io import write_jsonl

log = logging.getLogger(__name__)

# frame index -> HxWx3 uint8 RGB frame
FramePainter = Callable[[int], np.ndarray]


def solid_painter(width: int, height: int, rgb: tuple[int, int, int] = (200, 60, 20), seed: int = 0) -> FramePainter:
    """A painter drawing a moving bright square of colour `rgb` over low noise (cheap to encode, not static)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 40, size=(height, width, 3), dtype=np.uint8)
    side = max(2, min(width, height) // 3)

    def paint(index: int) -> np.ndarray:
        frame = base.copy()
        x = (index * 3) % max(1, width - side)
        y = (index * 2) % max(1, height - side)
        frame[y : y + side, x : x + side] = rgb
        return frame

    return paint


def write_video(
    path: str | Path,
    *,
    width: int = 64,
    height: int = 64,
    fps: float = 8.0,
    seconds: float = 2.0,
    gop: int = 12,
    painter: FramePainter | None = None,
    codec: Literal["libx264", "mpeg4"] = "libx264",
    rotation: int = 0,
) -> Path:
    """Encode a short H.264 mp4 of `seconds` at `fps` with a keyframe every `gop` frames; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    paint = painter or solid_painter(width, height)
    n_frames = max(1, round(seconds * fps))
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream(codec, rate=_as_fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        if rotation:
            stream.metadata["rotate"] = str(rotation)
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(paint(index), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def write_audio_only(path: str | Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    """An .mp4 with a single AAC audio stream and no video stream."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for _ in range(int(seconds * rate / 1024) + 1):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


# The demo's knowledge bank (flame tests): colour seen in the clip -> element -> atomic number.
@dataclass(frozen=True)
class Flame:
    """One entry of the demo knowledge bank."""

    colour: str
    rgb: tuple[int, int, int]
    element: str
    atomic_number: int


FLAMES: tuple[Flame, ...] = (
    Flame("red", (225, 30, 30), "lithium", 3),
    Flame("orange", (255, 130, 0), "calcium", 20),
    Flame("yellow", (240, 230, 30), "sodium", 11),
    Flame("green", (30, 210, 60), "copper", 29),
    Flame("violet", (150, 50, 230), "potassium", 19),
    Flame("white", (245, 245, 245), "magnesium", 12),
)
SKILLS: tuple[str, ...] = ("VidR", "KnowVid", "KnowVidR")
DEMO_DATASET = "videokr-demo-flames"
# skill -> question; the answer is the video's colour, its element, or that element's atomic number.
QUESTIONS: dict[str, str] = {
    "VidR": "What colour is the flame in the video?",
    "KnowVid": "Which element gives the flame in the video its colour in a flame test?",
    "KnowVidR": "What is the atomic number of the element whose flame test gives the flame in the video?",
}
Split = Literal["train", "rl", "eval"]


@dataclass(frozen=True)
class DemoCorpus:
    """Paths of a generated demo corpus; every `*_file` holds VideoKR rows with video paths relative to `video_root`."""

    root: Path
    video_root: Path
    sft_file: Path  # COT rows (with think) for SFT
    rl_file: Path  # rows without think for GRPO
    eval_file: Path  # held-out rows on clips never used for training
    caption_file: Path  # {"video_path", "caption", "colour"} rows on their own clips, for perception pre-training
    blank_video_root: Path | None  # the eval clips with every frame blanked, same relative paths; None if not made

    @classmethod
    def at(cls, root: str | Path, blank: bool) -> "DemoCorpus":
        """The paths of a corpus written under `root` (the blank clips under `root/blank` when `blank`)."""
        out = Path(root)
        return cls(
            root=out,
            video_root=out,
            sft_file=out / "demo_cot.jsonl",
            rl_file=out / "demo_rl.jsonl",
            eval_file=out / "demo_eval.jsonl",
            caption_file=out / "demo_captions.jsonl",
            blank_video_root=out / "blank" if blank else None,
        )


def flame_painter(
    width: int, height: int, rgb: tuple[int, int, int] | None, seed: int, blank: bool = False
) -> FramePainter:
    """A flickering flame of colour `rgb` drifting over a noisy dark background; `blank` paints black frames."""
    rng = np.random.default_rng(seed)
    if blank:
        black = np.zeros((height, width, 3), dtype=np.uint8)
        return lambda index: black
    tint = rng.integers(0, 30, size=3)
    base = (rng.integers(0, 45, size=(height, width, 3)) + tint).clip(0, 255).astype(np.int16)
    # a large flame: every merged 32x32 visual token of a 64x64 frame sees some of it, so a tiny model's
    # attention need not find one token to read the colour
    cx, cy = rng.uniform(0.4, 0.6) * width, rng.uniform(0.45, 0.6) * height
    radius = rng.uniform(0.24, 0.3) * min(width, height)
    colour = np.array(rgb if rgb is not None else (0, 0, 0), dtype=np.float32) + rng.integers(-15, 16, size=3)
    drift = rng.uniform(-0.4, 0.4, size=2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frame_rng = np.random.default_rng(seed + 1)

    def paint(index: int) -> np.ndarray:
        jitter = frame_rng.uniform(-1.5, 1.5, size=2)
        x0, y0 = cx + drift[0] * index + jitter[0], cy + drift[1] * index + jitter[1]
        r = radius * frame_rng.uniform(0.85, 1.15)
        # a teardrop: taller than wide, pointing up
        dist = ((xx - x0) / r) ** 2 + ((yy - y0) / (1.6 * r)) ** 2 * np.where(yy < y0, 0.6, 1.6)
        alpha = np.clip(1.3 - dist, 0.0, 1.0)[..., None] * frame_rng.uniform(0.85, 1.0)
        frame = base * (1.0 - alpha) + colour * alpha
        return frame.clip(0, 255).astype(np.uint8)

    return paint


def _as_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def answer_value(flame: Flame, skill: str) -> str:
    """The short-phrase answer of `skill` for a clip showing `flame`.

    >>> answer_value(FLAMES[2], "VidR"), answer_value(FLAMES[2], "KnowVid"), answer_value(FLAMES[2], "KnowVidR")
    ('yellow', 'sodium', '11')
    """
    if skill == "VidR":
        return flame.colour
    if skill == "KnowVid":
        return flame.element
    if skill == "KnowVidR":
        return str(flame.atomic_number)
    raise ValueError(f"unknown skill {skill!r}; expected one of {', '.join(SKILLS)}")


def think_text(flame: Flame, skill: str) -> str:
    """The chain of thought: what the clip shows, then each knowledge step the skill needs.

    >>> think_text(FLAMES[2], "KnowVidR")
    'The flame is yellow. A yellow flame indicates sodium. Sodium has atomic number 11.'
    """
    steps = [f"The flame is {flame.colour}."]
    if skill in ("KnowVid", "KnowVidR"):
        steps.append(f"A {flame.colour} flame indicates {flame.element}.")
    if skill == "KnowVidR":
        steps.append(f"{flame.element.capitalize()} has atomic number {flame.atomic_number}.")
    return " ".join(steps)


def caption_text(flame: Flame) -> str:
    """The perception caption of a clip: `The flame is <colour>.`"""
    return f"The flame is {flame.colour}."


def _options(flame: Flame, skill: str, rng: random.Random, order: str, count: int) -> tuple[list[str], str]:
    """`count` option lines (the right value and `count - 1` distractors) and the right letter."""
    others = [f for f in FLAMES if f != flame]
    chosen = [flame, *rng.sample(others, count - 1)]
    if order == "fixed":
        chosen.sort(key=FLAMES.index)
    else:
        rng.shuffle(chosen)
    letters = "ABCDEF"[:count]
    lines = [f"{letter}. {answer_value(f, skill)}" for letter, f in zip(letters, chosen, strict=True)]
    return lines, letters[chosen.index(flame)]


def make_row(
    problem_id: str,
    flame: Flame,
    skill: str,
    multiple_choice: bool,
    video_path: str,
    rng: random.Random,
    *,
    with_think: bool,
    option_order: str = "shuffled",
    n_options: int = 4,
) -> dict[str, Any]:
    """One VideoKR row (PROTOCOL.md section 2) about a clip of `flame`."""
    row: dict[str, Any] = {
        "problem_id": problem_id,
        "problem_type": "multiple choice" if multiple_choice else "open-ended",
        "question": QUESTIONS[skill],
    }
    if multiple_choice:
        row["options"], row["solution"] = _options(flame, skill, rng, option_order, n_options)
    else:
        row["solution"] = answer_value(flame, skill)
    if with_think:
        row["think"] = think_text(flame, skill)
    row.update(
        video_path=video_path,
        subject="Chemistry",
        dataset=DEMO_DATASET,
        skill=skill,
        discipline="Natural Sciences",
    )
    return row


@dataclass(frozen=True)
class _Clip:
    path: str  # relative to the video root
    flame: Flame
    seed: int
    fps: float


def _plan_clips(split: str, count: int, rng: random.Random) -> list[_Clip]:
    """`count` clips with the colours balanced (each colour count // 6 or +1 times), in random order."""
    flames = [FLAMES[i % len(FLAMES)] for i in range(count)]
    rng.shuffle(flames)
    return [
        _Clip(f"videos/{split}/{split}_{i:05d}.mp4", flame, rng.randrange(2**31), rng.choice((4.0, 6.0, 8.0)))
        for i, flame in enumerate(flames)
    ]


def _plan_rows(
    split: Split,
    clips: list[_Clip],
    n_rows: int,
    rng: random.Random,
    mc_fraction: float,
    option_order: str,
    n_options: int,
    mc_skills: Sequence[str] = SKILLS,
) -> list[dict[str, Any]]:
    """`n_rows` rows cycling over the skills; row i asks about clip i mod len(clips); only `mc_skills` ask MC."""
    rows = []
    for index in range(n_rows):
        clip = clips[index % len(clips)]
        skill = SKILLS[index % len(SKILLS)]
        multiple_choice = rng.random() < mc_fraction and skill in mc_skills
        rows.append(
            make_row(
                f"demo-{split}-{index:05d}",
                clip.flame,
                skill,
                multiple_choice,
                clip.path,
                rng,
                with_think=split == "train",
                option_order=option_order,
                n_options=n_options,
            )
        )
    return rows


def generate_demo_corpus(
    root: str | Path,
    *,
    n_train: int = 600,
    n_rl: int = 120,
    n_eval: int = 120,
    n_caption: int = 300,
    seed: int = 0,
    mc_fraction: float = 0.75,
    option_order: Literal["shuffled", "fixed"] = "fixed",
    n_options: int = 4,
    sft_mc_skills: Sequence[str] = SKILLS,
    rows_per_video: int = 1,
    size: int = 64,
    seconds: float = 2.0,
    blank: bool = True,
    progress: bool = False,
) -> DemoCorpus:
    """Write the demo corpus under `root`: COT / RL / eval jsonl files, caption rows, and their PyAV clips.

    Answers need the clip (the flame's colour) together with the knowledge bank FLAMES; eval rows ask about clips
    that no training row uses; `blank` also writes the eval clips with every frame black under `root/blank`.
    `option_order="fixed"` lists every question's four options in knowledge-bank (FLAMES) order, "shuffled" in
    random order; which three distractors appear is random either way, so the letter still needs the clip.
    Deterministic given the arguments.
    """
    if min(n_train, n_eval) < 1 or min(n_rl, n_caption) < 0 or rows_per_video < 1:
        raise ValueError("n_train and n_eval must be >= 1, n_rl and n_caption >= 0, rows_per_video >= 1")
    if not 2 <= n_options <= len(FLAMES):
        raise ValueError(f"n_options must be between 2 and {len(FLAMES)} (the knowledge bank's size)")
    out = Path(root)
    rng = random.Random(seed)
    train_clips = _plan_clips("train", -(-n_train // rows_per_video), rng)
    eval_clips = _plan_clips("eval", -(-n_eval // rows_per_video), rng)
    caption_clips = _plan_clips("caption", n_caption, rng)
    mc = (mc_fraction, option_order, n_options)
    rows = {
        "train": _plan_rows("train", train_clips, n_train, rng, *mc, mc_skills=sft_mc_skills),
        "rl": _plan_rows("rl", train_clips, n_rl, rng, *mc),
        "eval": _plan_rows("eval", eval_clips, n_eval, rng, *mc),
    }
    jobs = [(out, clip, False) for clip in train_clips + eval_clips + caption_clips]
    if blank:
        jobs += [(out / "blank", clip, True) for clip in eval_clips]
    for video_root, clip, blanked in tqdm(jobs, desc="demo clips", unit="clip", disable=not progress):
        _write_clip(video_root / clip.path, clip, size, seconds, blanked)
    corpus = DemoCorpus.at(out, blank)
    write_jsonl(corpus.sft_file, rows["train"])
    write_jsonl(corpus.rl_file, rows["rl"])
    write_jsonl(corpus.eval_file, rows["eval"])
    write_jsonl(corpus.caption_file, _caption_rows(caption_clips))
    log.info("demo corpus: %d train, %d rl, %d eval rows, %d clips under %s", n_train, n_rl, n_eval, len(jobs), out)
    return corpus


def _caption_rows(clips: list[_Clip]) -> Iterator[dict[str, Any]]:
    for clip in clips:
        yield {"video_path": clip.path, "caption": caption_text(clip.flame), "colour": clip.flame.colour}


def _write_clip(path: Path, clip: _Clip, size: int, seconds: float, blank: bool) -> None:
    """Encode one clip to a temp name and rename it, so an interrupted run never leaves half a clip."""
    tmp = path.with_name(f".{path.stem}.tmp.mp4")
    painter = flame_painter(size, size, clip.flame.rgb, clip.seed, blank=blank)
    write_video(tmp, width=size, height=size, fps=clip.fps, seconds=seconds, painter=painter)
    os.replace(tmp, path)
