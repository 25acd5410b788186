"""The canonical record: one `Sample` per corpus row, read from any alias spelling of PROTOCOL.md section 2."""

import functools
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ProblemType = Literal["multiple choice", "open-ended"]
Severity = Literal["error", "warning"]

MULTIPLE_CHOICE: ProblemType = "multiple choice"
OPEN_ENDED: ProblemType = "open-ended"

# canonical name -> accepted spellings, canonical first (PROTOCOL.md section 2).
ALIASES: dict[str, tuple[str, ...]] = {
    "problem_id": ("problem_id", "id", "file_name"),
    "problem_type": ("problem_type", "question_type"),
    "question": ("question", "prompt", "problem"),
    "options": ("options", "option"),
    "solution": ("solution", "answer", "correct_answer", "ground_truth"),
    "think": ("think", "process"),
    "video_path": ("video_path", "videos", "video", "video_file", "path", "file_name"),
    "subject": ("subject", "source"),
    "dataset": ("dataset",),
    "skill": ("skill",),
    "discipline": ("discipline",),
}

OPEN_ENDED_TYPES = frozenset({"open-ended", "open_ended", "free-form", "free form", "numerical"})
ANSWER_TAG_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)
# "A. text", "A: text", "A) text", "(A) text", or a bare "A".
OPTION_LABEL_RE = re.compile(r"^\(?([A-Za-z])(?:[.):\]]|\s|$)")


@dataclass(frozen=True)
class RowIssue:
    """One problem with one input row: where (line, field), what (message) and how bad (severity)."""

    line: int
    field: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {"line": self.line, "field": self.field, "message": self.message, "severity": self.severity}


class RowError(ValueError):
    """A row cannot become a Sample; `field` names the offending canonical field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _present(value: Any) -> bool:
    # Empty strings and containers count as absent; 0 and False are values (a numeric answer can be 0).
    return bool(value) or (value is not None and not isinstance(value, str | list | dict | tuple))


def pick(row: Mapping[str, Any], name: str) -> Any:
    """The value of the first alias of canonical field `name` that is present and non-empty, else None."""
    return _first_present(row, ALIASES[name])


def _first_present(row: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = row.get(key)
        if value or (value is not None and not isinstance(value, str | list | dict | tuple)):
            return value
    return None


def pick_key(row: Mapping[str, Any], name: str) -> str | None:
    """The alias of `name` that `pick` reads from `row`, or None."""
    for key in ALIASES[name]:
        if _present(row.get(key)):
            return key
    return None


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages.

    >>> json_type({}), json_type([1]), json_type(None), json_type(2.5), json_type(True)
    ('object', 'array', 'null', 'number', 'boolean')
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names = {dict: "object", list: "array", str: "string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def pick_text(row: Mapping[str, Any], name: str) -> str | None:
    """`pick` for a text field: numbers are written out; an array or object raises RowError naming the field.

    >>> pick_text({"answer": 0}, "solution"), pick_text({}, "think")
    ('0', None)
    """
    return _as_text(name, pick(row, name))


def _as_text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):  # a numeric answer or id is a value (bool is an int)
        return str(value)
    raise RowError(name, f"{name} must be text, got {json_type(value)}")


@functools.lru_cache(maxsize=256)
def _aliases_present(shape: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    # A corpus file has a handful of row shapes (key tuples): aliases are resolved once per shape, not per row.
    keys = set(shape)
    return tuple((name, tuple(alias for alias in aliases if alias in keys)) for name, aliases in ALIASES.items())


def pick_all(row: Mapping[str, Any]) -> dict[str, Any]:
    """`pick` of every canonical field at once (what Sample.from_raw reads), resolving aliases once per row shape.

    >>> pick_all({"answer": "", "ground_truth": "B", "prompt": "Q?"})["solution"]
    'B'
    """
    picked = {}
    for name, keys in _aliases_present(tuple(row)):
        value = None
        for key in keys:  # `pick`, inlined: this runs for every field of every row
            value = row[key]
            if value or (value is not None and not isinstance(value, str | list | dict | tuple)):
                break
            value = None
        picked[name] = value
    return picked


def is_known_problem_type(value: Any) -> bool:
    """Whether `value` names a problem type outright (without falling back on the options).

    >>> is_known_problem_type("Multiple Choice"), is_known_problem_type("mcq"), is_known_problem_type("essay")
    (True, True, False)
    """
    text = str(value or "").strip().lower()
    return ("multiple" in text and "choice" in text) or text == "mcq" or text in OPEN_ENDED_TYPES


def normalize_problem_type(value: Any, has_options: bool) -> ProblemType:
    """Map a raw problem type onto the two canonical ones (PROTOCOL.md section 2).

    >>> normalize_problem_type("Multiple_Choice", False), normalize_problem_type("free form", True)
    ('multiple choice', 'open-ended')
    >>> normalize_problem_type("essay", True), normalize_problem_type(None, False)
    ('multiple choice', 'open-ended')
    """
    text = str(value or "").strip().lower()
    if ("multiple" in text and "choice" in text) or text == "mcq":
        return MULTIPLE_CHOICE
    if text in OPEN_ENDED_TYPES:
        return OPEN_ENDED
    return MULTIPLE_CHOICE if has_options else OPEN_ENDED


def parse_options(value: Any) -> tuple[str, ...]:
    """Option lines from a list, a dict letter -> text (sorted by key) or a newline-separated string.

    >>> parse_options({"B": "two", "A": "one"}), parse_options(" A. x \\n\\nB. y")
    (('A. one', 'B. two'), ('A. x', 'B. y'))
    """
    lines: Sequence[str]
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        lines = value if all(type(item) is str for item in value) else _option_entries(value)
    elif isinstance(value, str):
        lines = value.splitlines()
    elif isinstance(value, Mapping):
        lines = [f"{key}. {text}" for key, text in sorted((str(k), v) for k, v in value.items())]
    else:
        raise RowError("options", f"options must be a list, a dict or a string, got {type(value).__name__}")
    return tuple(filter(None, map(str.strip, lines)))


def _option_entries(value: list[Any] | tuple[Any, ...]) -> list[str]:
    for item in value:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise RowError("options", f"option entries must be strings, got {type(item).__name__}")
    return [str(item) for item in value]


def option_letter(line: str) -> str | None:
    """The upper-case label letter of an option line, or None when it has none.

    >>> option_letter("B. Sodium"), option_letter("(c) x"), option_letter("Sodium")
    ('B', 'C', None)
    """
    match = OPTION_LABEL_RE.match(line.strip())
    return match.group(1).upper() if match else None


def strip_answer_tags(text: str) -> str:
    """The inside of the first `<answer>...</answer>` (any case), else the stripped text.

    >>> strip_answer_tags(" <ANSWER> B </ANSWER>"), strip_answer_tags("Paris")
    ('B', 'Paris')
    """
    text = text.strip()
    match = ANSWER_TAG_RE.search(text)
    return match.group(1).strip() if match else text


def strip_think_tags(text: str) -> str:
    """Drop a wrapping `<think>...</think>` (from the first opening to the last closing tag).

    >>> strip_think_tags("<think> red flame </think>"), strip_think_tags("plain")
    ('red flame', 'plain')
    """
    text = text.strip()
    if text[:7].lower() != "<think>":
        return text
    # The usual row ends in "</think>": no lower-casing of the whole text. Only U+0130 lower-cases to two
    # characters, which would shift the index found in `lower` below; that quirk is kept for such texts.
    if text.endswith("</think>") and "\u0130" not in text:
        return text[7:-8].strip()
    lower = text.lower()
    if "</think>" in lower:
        text = text[len("<think>") : lower.rindex("</think>")]
    return text.strip()


def strip_video_placeholder(question: str) -> str:
    """Strip the question and one leading `<video>` placeholder (any case)."""
    question = question.strip()
    if question.lower().startswith("<video>"):
        question = question[len("<video>") :].lstrip()
    return question


def raw_video_value(row: Mapping[str, Any]) -> str | None:
    """The first video path of a row as written (a `videos` list yields its first entry).

    Raises RowError when the path found is an array or an object instead of text.
    """
    return video_text(pick(row, "video_path"))


def video_text(value: Any) -> str | None:
    """The first video path in a picked `video_path` value (see `raw_video_value`)."""
    if type(value) is str:  # the usual row, without the slower Mapping check below
        return value
    if isinstance(value, list | tuple):
        for entry in value:
            path = entry.get("video") or entry.get("path") if isinstance(entry, Mapping) else entry
            if _present(path):
                return _path_text(path)
        return None
    if isinstance(value, Mapping):
        path = value.get("video") or value.get("path")
        return _path_text(path) if _present(path) else None
    return None if value is None else _path_text(value)


def _path_text(value: Any) -> str:
    if isinstance(value, str | int | float):
        return str(value)
    raise RowError("video_path", f"video path must be text, got {json_type(value)}")


def normalize_video_path(value: str) -> str:
    """A clean relative path: leading `./` and `/` stripped, `.`/`..` folded; refuses paths escaping the root.

    >>> normalize_video_path("./videos_0007//abc.mp4"), normalize_video_path("/.hidden/a.mp4")
    ('videos_0007/abc.mp4', '.hidden/a.mp4')
    """
    path = value.strip()
    if "\x00" in path:  # no file system accepts it; os calls would raise ValueError
        raise RowError("video_path", f"{value!r} contains a NUL character")
    if "://" in path:
        return path
    while path.startswith("./"):
        path = path[2:]
    path = path.lstrip("/")
    if not path:
        return ""
    if "//" in path or "/." in path or path.startswith("."):  # normpath only when there is something to fold
        path = posixpath.normpath(path)
    if path == ".." or path.startswith("../"):
        raise RowError("video_path", f"{value!r} points outside the video root")
    return path


def _optional_text(name: str, value: Any) -> str | None:
    text = _as_text(name, value)
    return None if text is None else text.strip() or None


@dataclass(frozen=True)
class Sample:
    """One corpus row in canonical form; `raw` keeps the original mapping for the published-quirk converters."""

    problem_id: str
    problem_type: ProblemType
    question: str
    options: tuple[str, ...] = ()
    solution: str = ""
    think: str | None = None
    video_path: str | None = None
    subject: str | None = None
    dataset: str | None = None
    skill: str | None = None
    discipline: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)

    @property
    def is_multiple_choice(self) -> bool:
        """Whether the normalised type is multiple choice."""
        return self.problem_type == MULTIPLE_CHOICE

    @classmethod
    def from_raw(cls, row: Mapping[str, Any]) -> "Sample":
        """Read a raw row under any alias; raises RowError naming the field when it cannot be used."""
        if type(row) is not dict and not isinstance(row, Mapping):
            raise RowError("row", f"expected a JSON object, got {json_type(row)}")
        picked = pick_all(row)
        raw_question = picked["question"]
        if raw_question is not None and not isinstance(raw_question, str):
            raise RowError("question", f"question must be text, got {json_type(raw_question)}")
        question = strip_video_placeholder(raw_question or "")
        if not question:
            raise RowError("question", "missing question" if raw_question is None else "question is empty")
        solution = _as_text("solution", picked["solution"])
        solution_text = strip_answer_tags(solution) if solution is not None else ""
        if not solution_text:
            raise RowError("solution", "missing or empty answer")
        options = parse_options(picked["options"])
        think = _as_text("think", picked["think"])
        video = video_text(picked["video_path"])
        return cls._filled(
            problem_id=_as_text("problem_id", picked["problem_id"]) or "",
            problem_type=normalize_problem_type(_as_text("problem_type", picked["problem_type"]), bool(options)),
            question=question,
            options=options,
            solution=solution_text,
            think=None if think is None else strip_think_tags(think),
            video_path=normalize_video_path(video) or None if video is not None else None,
            subject=_optional_text("subject", picked["subject"]),
            dataset=_optional_text("dataset", picked["dataset"]),
            skill=_optional_text("skill", picked["skill"]),
            discipline=_optional_text("discipline", picked["discipline"]),
            raw=row,
        )

    @classmethod
    def _filled(cls, **fields: Any) -> "Sample":
        # cls(**fields) without the frozen __init__, which sets each field through object.__setattr__: 1.5 us of
        # the ~20 us a converter spends on a row. Every field must be given (test_records compares with cls()).
        sample = object.__new__(cls)
        sample.__dict__.update(fields)
        return sample

    def to_dict(self) -> dict[str, Any]:
        """The canonical fields as a JSON-ready mapping (without `raw`)."""
        return {
            "problem_id": self.problem_id,
            "problem_type": self.problem_type,
            "question": self.question,
            "options": list(self.options),
            "solution": self.solution,
            "think": self.think,
            "video_path": self.video_path,
            "subject": self.subject,
            "dataset": self.dataset,
            "skill": self.skill,
            "discipline": self.discipline,
        }
