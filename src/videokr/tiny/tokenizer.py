"""The tiny checkpoints' tokenizer: a small byte-level BPE trained offline, wrapped as a Qwen2Tokenizer.

The BPE is trained with Qwen2's own pre-tokenizer (NFC, regex split isolated, then byte-level without regex) so
the learned merges match how `Qwen2Tokenizer` splits text (ENGINES.md 3b). All 256 bytes are in the initial
alphabet, so no input is ever unknown; the corpus holds every prompt string so prompts encode compactly.
"""

import json
from collections.abc import Iterable, Iterator
from typing import Any

from videokr.deps import require
from videokr.prompts import INSTR, MC_TAIL, OE_TAIL

# Qwen2's pre-tokenizer regex, as in transformers' tokenization_qwen2.PRETOKENIZE_REGEX.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# The special tokens of the Qwen2.5-VL / Qwen3-VL tokenizers, in their real order.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Qwen3-VL's tokenizer also holds the reasoning tags as single (non-special) added tokens.
QWEN3_ADDED_TOKENS = ("<think>", "</think>")

LETTERS = "ABCDEFGHIJ"
COLOURS = ("red", "orange", "yellow", "green", "blue", "violet", "purple", "white", "black", "crimson", "lilac")
ELEMENTS = ("sodium", "potassium", "lithium", "copper", "calcium", "strontium", "barium", "boron", "iron", "zinc")
WORDS = (
    "What Which Why How When Where Who is are was the a an of in on to and or with from by for as at this that "
    "video clip shows shown scene frame object colour color flame test element metal salt light burns burning "
    "moves moving left right up down first second third last before after during start end time seconds minutes "
    "indicates because therefore so answer question option correct wrong true false yes no not none all "
    "number count how many much speed size shape square circle line large small bright dark background "
    "The In A An It This I We You He She They physics chemistry biology medicine history engineering "
    "knowledge reasoning perception experiment lecture teacher student demonstrates explains observe observed"
)


def corpus(extra: Iterable[str] = ()) -> Iterator[str]:
    """The BPE training texts: prompt strings, tags, letters, digits, timestamps, a small word list and `extra`."""
    for _ in range(8):  # weight the prompt strings: they are in every example
        yield from (INSTR, MC_TAIL, OE_TAIL, "\n\nOptions:\n", "\nOptions:\n", "<video>\n", "<video>", "<image>")
        for letter in LETTERS:
            yield f"<think>The answer is {letter}.</think>\n<answer>{letter}</answer>"
            yield f"\n{letter}. option {letter}\n"
    yield from ("system\nYou are a helpful assistant.", "user\n", "assistant\n", "Video 1: ", "Picture 1: ")
    yield from (f"<{tenths / 10:.1f} seconds>" for tenths in range(0, 1201))
    yield from (str(number) for number in range(0, 1001))
    yield from (f"{number}.{tenth}" for number in range(0, 100) for tenth in range(10))
    yield WORDS
    for colour in COLOURS:
        for element in ELEMENTS:
            yield f"<think>The flame is {colour}. A {colour} flame indicates {element}.</think>\n<answer>{element}</answer>"
    yield from extra


def train_bpe(vocab_size: int, extra: Iterable[str] = ()) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train a byte-level BPE with Qwen2's pre-tokenizer; returns (vocab, merges) ready for Qwen2Tokenizer."""
    tokenizers = require("tokenizers")
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers

    bpe = tokenizers.Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    bpe.train_from_iterator(list(corpus(extra)), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    # tokenizers writes merges as [a, b] pairs (older releases: "a b" strings); Qwen2Tokenizer wants tuples
    pairs = [m.split(" ", 1) if isinstance(m, str) else m for m in model["merges"]]
    return {str(k): int(v) for k, v in model["vocab"].items()}, [(str(a), str(b)) for a, b in pairs]


def build_tokenizer(family: str, vocab_size: int, chat_template: str, extra: Iterable[str] = ()) -> Any:
    """A transformers Qwen2Tokenizer over a freshly trained BPE, with the Qwen special tokens and chat template."""
    require("transformers")
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab, merges = train_bpe(vocab_size - len(SPECIAL_TOKENS) - len(QWEN3_ADDED_TOKENS), extra)
    added = SPECIAL_TOKENS + (QWEN3_ADDED_TOKENS if family == "qwen3_vl" else ())
    # Give the added tokens ids right after the BPE vocab, in Qwen's order (<|endoftext|> first).
    vocab.update({token: len(vocab) + index for index, token in enumerate(added)})
    # Qwen2Tokenizer's annotations say str merges and a str unk token; tuples and None are what work (ENGINES 3).
    tokenizer_kwargs: dict[str, Any] = {"vocab": vocab, "merges": merges, "unk_token": None}
    tokenizer = Qwen2Tokenizer(
        **tokenizer_kwargs,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
        errors="replace",
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]}
    )
    if family == "qwen3_vl":
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in QWEN3_ADDED_TOKENS])
    tokenizer.chat_template = chat_template
    return tokenizer
