"""The format reward: the response is a `<think>` block followed by an `<answer>` block (PROTOCOL.md section 5)."""

from videokr.answers import has_think_answer_format


def format_reward(response: str) -> float:
    """1.0 when the whole response is `<think>...</think>` then `<answer>...</answer>`, else 0.0.

    >>> format_reward("<think>the flame is yellow</think>\\n<answer>B</answer>")
    1.0
    >>> format_reward("<answer>B</answer>")
    0.0
    """
    return 1.0 if has_think_answer_format(response) else 0.0
