"""The prompt side of a checkpoint's processor, read from its files without importing transformers.

A prompt count needs four things from a checkpoint: the chat template, the tokenizer, the video processor's
limits and the vision token strings. Importing transformers and loading its processor takes ~9 s; this module
reads the same files in milliseconds and follows transformers 5.5's rules for them: tokenizer.json through the
`tokenizers` library plus the special tokens tokenizer_config.json names (TokenizersBackend.__init__), the chat
template from where `ProcessorMixin.from_pretrained` looks for it and rendered in a jinja2 environment set up as
`chat_template_utils._cached_compile_jinja_template` sets it up, and the video / image processor settings from
processor_config.json (nested, as transformers 5 saves it), else video_preprocessor_config.json, else
preprocessor_config.json, with the processor classes' defaults for absent keys. The counts are tested equal to
the real processor's for both families (tests/integration/test_token_counts.py).
"""

import functools
import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from videokr.data.videos import ProcessorConfig
from videokr.deps import require
from videokr.errors import ConfigError
from videokr.families import Family

# PreTrainedTokenizerBase.SPECIAL_TOKENS_ATTRIBUTES: the named tokens `special_tokens_map` hands to the template.
NAMED_SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Qwen2Tokenizer.__init__ defaults, used when tokenizer_config.json leaves a key out.
QWEN2_TOKENIZER_DEFAULTS = {"unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
# Qwen2VLImageProcessor's class default (the image processor of both families) when its config has no patch_size.
IMAGE_PATCH_DEFAULT = 14
# The processors' fallbacks when the tokenizer defines no such attribute.
VISION_TOKENS = {
    "video_token": "<|video_pad|>",
    "vision_start_token": "<|vision_start|>",
    "vision_end_token": "<|vision_end|>",
}


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, {} when there is no such file."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def processor_section(model_dir: Path, nested: Mapping[str, Any], section: str, files: tuple[str, ...]) -> dict:
    """processor_config.json's `section` (transformers 5 nests them there), else the first of `files` present."""
    if isinstance(nested.get(section), dict):
        return dict(nested[section])
    for name in files:
        if (model_dir / name).is_file():
            return read_json(model_dir / name)
    raise ConfigError(f"{model_dir}: no {section} settings (processor_config.json or {' / '.join(files)})")


def _setting(settings: Mapping[str, Any], key: str, default: Any) -> Any:
    # transformers' _set_attributes: a key set to null keeps the class default
    value = settings.get(key)
    return default if value is None else value


def video_processor_config(settings: Mapping[str, Any], family: Family, source: str = "") -> ProcessorConfig:
    """ProcessorConfig from a video processor's JSON settings, the family's class defaults for absent keys."""
    default = ProcessorConfig.default(family)
    size = dict(_setting(settings, "size", {"shortest_edge": default.min_pixels, "longest_edge": default.max_pixels}))
    if family == "qwen2_5_vl":  # Qwen2VLVideoProcessor.__init__: min_pixels / max_pixels override size
        size["shortest_edge"] = _setting(settings, "min_pixels", size.get("shortest_edge"))
        size["longest_edge"] = _setting(settings, "max_pixels", size.get("longest_edge"))
    if size.get("shortest_edge") is None or size.get("longest_edge") is None:
        raise ConfigError(f"{source}: the video processor's size needs 'shortest_edge' and 'longest_edge', got {size}")
    return ProcessorConfig(
        family=family,
        patch_size=int(_setting(settings, "patch_size", default.patch_size)),
        merge_size=int(_setting(settings, "merge_size", default.merge_size)),
        temporal_patch_size=int(_setting(settings, "temporal_patch_size", default.temporal_patch_size)),
        min_pixels=int(size["shortest_edge"]),
        max_pixels=int(size["longest_edge"]),
        do_resize=bool(_setting(settings, "do_resize", True)),
    )


def read_chat_template(model_dir: Path, nested: Mapping[str, Any]) -> str:
    """The template the processor renders: processor_config.json's key, chat_template.json or chat_template.jinja."""
    templates: Any = nested.get("chat_template")
    if templates is None and (model_dir / "chat_template.json").is_file():
        templates = read_json(model_dir / "chat_template.json").get("chat_template")
    if templates is None:
        templates = {
            path.stem: path.read_text(encoding="utf-8") for path in (model_dir / "chat_templates").glob("*.jinja")
        }
        if (model_dir / "chat_template.jinja").is_file():
            templates["default"] = (model_dir / "chat_template.jinja").read_text(encoding="utf-8")
    if isinstance(templates, str):
        return templates
    if isinstance(templates, dict) and isinstance(templates.get("default"), str):
        return str(templates["default"])
    if templates:
        raise ConfigError(f"{model_dir}: several chat templates ({', '.join(templates)}) and none named 'default'")
    raise ConfigError(
        f"{model_dir}: no chat template (chat_template.jinja or chat_template.json); transformers' processor does "
        "not use one kept only in tokenizer_config.json either: save it as chat_template.jinja"
    )


def _token_text(value: Any) -> str | None:
    """A token as tokenizer_config.json writes it: a string or a serialised AddedToken."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def special_tokens_map(config: Mapping[str, Any]) -> dict[str, str]:
    """`tokenizer.special_tokens_map`: named tokens, then model-specific ones (an extra_special_tokens dict, *_token)."""
    defaults = QWEN2_TOKENIZER_DEFAULTS if str(config.get("tokenizer_class", "")).startswith("Qwen2Tokenizer") else {}
    named = {key: _token_text(config.get(key, defaults.get(key))) for key in NAMED_SPECIAL_TOKENS}
    extra = config.get("extra_special_tokens", config.get("additional_special_tokens"))
    specific = {k: _token_text(v) for k, v in config.items() if k.endswith("_token") and k not in NAMED_SPECIAL_TOKENS}
    specific = {k: v for k, v in specific.items() if v is not None}
    if isinstance(extra, dict):
        specific.update({key: _token_text(value) for key, value in extra.items()})
    if isinstance(config.get("model_specific_special_tokens"), dict):
        specific.update({k: _token_text(v) for k, v in config["model_specific_special_tokens"].items()})
    return {key: text for key, text in {**named, **specific}.items() if text is not None}


def _added_tokens(config: Mapping[str, Any], tokenizers: Any) -> list[Any]:
    """The tokens transformers adds on top of tokenizer.json: added_tokens_decoder, then every special token."""
    fields = ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
    saved = config.get("added_tokens_decoder") or {}
    tokens = [
        tokenizers.AddedToken(**{k: v for k, v in saved[index].items() if k in fields})
        for index in sorted(saved, key=int)
    ]
    extra = config.get("extra_special_tokens", config.get("additional_special_tokens")) or []
    texts = [*special_tokens_map(config).values(), *(extra.values() if isinstance(extra, dict) else extra)]
    for text in filter(None, map(_token_text, texts)):
        tokens.append(tokenizers.AddedToken(text, special=True, normalized=False))
    return tokens


def load_tokenizer(model_dir: Path, config: Mapping[str, Any]) -> Any:
    """A `tokenizers.Tokenizer` that encodes as the checkpoint's transformers fast tokenizer does."""
    tokenizers = require("tokenizers")
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"{model_dir}: no tokenizer.json (the prompt count reads fast tokenizers only)")
    backend = tokenizers.Tokenizer.from_file(str(path))
    known = {str(token.content) for token in backend.get_added_tokens_decoder().values()}
    for token in _added_tokens(config, tokenizers):
        if token.content not in known:
            backend.add_tokens([token])
            known.add(token.content)
    backend.encode_special_tokens = bool(config.get("split_special_tokens", False))
    # tokenizer.json's post-processor stays: with that file, transformers drops add_bos_token / add_eos_token
    return backend


@functools.lru_cache(maxsize=8)
def compile_chat_template(source: str) -> Any:
    """The template compiled in the environment transformers renders chat templates in."""
    jinja2 = require("jinja2")
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(Extension):
        """`{% generation %}...{% endgeneration %}`: transformers' AssistantTracker, rendering its body as is."""

        tags = {"generation"}  # noqa: RUF012 (jinja2's Extension API)

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return str(caller())

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False
    ) -> str:
        # transformers' override: no HTML escaping, json.dumps options exposed
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


class TextTokenizer:
    """`tokenizer(text)["input_ids"]` of a transformers fast tokenizer, over a `tokenizers.Tokenizer`."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def __call__(self, text: str) -> dict[str, list[int]]:
        """The ids with the special tokens the post-processor adds, as transformers' default call gives them."""
        return {"input_ids": list(self.backend.encode(text, add_special_tokens=True).ids)}


class LightProcessor:
    """What PromptBudget uses of a transformers processor, loaded from the checkpoint's files in milliseconds."""

    def __init__(
        self,
        tokenizer: TextTokenizer,
        chat_template: str,
        special_tokens: Mapping[str, str],
        video_settings: Mapping[str, Any],
        image_patch_size: int,
        source: str = "",
    ) -> None:
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.special_tokens = dict(special_tokens)
        self.video_settings = dict(video_settings)
        self.image_patch_size = image_patch_size
        self.source = source
        self.video_token = self.special_tokens.get("video_token", VISION_TOKENS["video_token"])
        self.vision_start_token = self.special_tokens.get("vision_start_token", VISION_TOKENS["vision_start_token"])
        self.vision_end_token = self.special_tokens.get("vision_end_token", VISION_TOKENS["vision_end_token"])

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike[str]) -> "LightProcessor":
        """Read tokenizer.json, tokenizer_config.json, the chat template and the processor configs of `model_dir`."""
        root = Path(model_dir)
        if not root.is_dir():
            raise ConfigError(f"{root}: not a checkpoint directory (the prompt count reads local checkpoints)")
        nested = read_json(root / "processor_config.json")
        config = read_json(root / "tokenizer_config.json")
        video = processor_section(
            root, nested, "video_processor", ("video_preprocessor_config.json", "preprocessor_config.json")
        )
        image = processor_section(root, nested, "image_processor", ("preprocessor_config.json",))
        return cls(
            TextTokenizer(load_tokenizer(root, config)),
            read_chat_template(root, nested),
            special_tokens_map(config),
            video,
            int(_setting(image, "patch_size", IMAGE_PATCH_DEFAULT)),
            source=str(root),
        )

    def processor_config(self, family: Family) -> ProcessorConfig:
        """The video processor's grid settings for `family`."""
        return video_processor_config(self.video_settings, family, self.source)

    def apply_chat_template(
        self, conversation: list[dict[str, Any]], add_generation_prompt: bool = False, tokenize: bool = False
    ) -> str:
        """ProcessorMixin.apply_chat_template(..., tokenize=False) for one conversation: the rendered text."""
        if tokenize:
            raise ConfigError("LightProcessor renders text only (tokenize=False)")
        template = compile_chat_template(self.chat_template)
        return str(
            template.render(
                messages=conversation,
                tools=None,
                documents=None,
                add_generation_prompt=add_generation_prompt,
                **self.special_tokens,
            )
        )
