"""One error hierarchy: every failure videokr reports on purpose is a VideoKRError."""


class VideoKRError(Exception):
    """Base of every error videokr raises for the user to read (the CLI prints it as one line)."""


class ConfigError(VideoKRError):
    """A config file or override is invalid (unknown key, wrong type)."""


class DataError(VideoKRError):
    """An input file is missing, unreadable, or yields no usable rows."""


class VideoError(VideoKRError):
    """A video cannot be probed or decoded."""


class EngineError(VideoKRError):
    """An engine launch failed or its environment is missing."""


class MissingDependencyError(VideoKRError):
    """An optional package is not installed; the message names the install command."""


class JudgeError(VideoKRError):
    """The judge cannot be used at all (bad spec, rejected key, unknown model or endpoint)."""
