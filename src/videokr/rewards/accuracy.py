"""The accuracy reward: exact match for multiple choice, mean ROUGE F1 for open-ended (PROTOCOL.md section 5)."""

from videokr.answers import extract_choice
from videokr.records import MULTIPLE_CHOICE, OPEN_ENDED, normalize_problem_type
from videokr.rewards.rouge import rouge_mean_f1


def accuracy_reward(
    answer: str, truth: str, problem_type: str, *, mc_normalize: bool = False, type_normalize: bool = False
) -> float:
    """Accuracy of an extracted `answer` against the extracted `truth` for a verl `problem_type`.

    The published reward knows exactly the types "multiple choice" and "open-ended"; any other spelling
    ("Multiple Choice", "mcq") scores 0 unless `type_normalize` maps it first. Multiple choice is plain string
    equality (so "(B)" is not "B", and two empty strings agree) unless `mc_normalize` compares option letters.

    >>> accuracy_reward("B", "B", "multiple choice"), accuracy_reward("(B)", "B", "multiple choice")
    (1.0, 0.0)
    >>> accuracy_reward("(B)", "B", "multiple choice", mc_normalize=True)
    1.0
    >>> accuracy_reward("B", "B", "Multiple Choice"), accuracy_reward("B", "B", "Multiple Choice", type_normalize=True)
    (0.0, 1.0)
    >>> accuracy_reward("the yellow sodium flame", "The yellow sodium flame", "open-ended")
    1.0
    """
    if type_normalize:
        problem_type = normalize_problem_type(problem_type, has_options=False)
    if problem_type == MULTIPLE_CHOICE:
        return _choice_accuracy(answer, truth) if mc_normalize else float(answer == truth)
    if problem_type == OPEN_ENDED:
        return rouge_mean_f1(truth, answer)
    return 0.0


def _choice_accuracy(answer: str, truth: str) -> float:
    """1.0 when both name the same option letter; an answer naming no letter is wrong."""
    letter = extract_choice(answer)
    return 1.0 if letter is not None and letter == extract_choice(truth) else 0.0
