import random

import pytest

from videokr.rewards import REWARDS, compute_score, resolve_reward
from videokr.rewards.score import resolve_weights

MC = {"problem_type": "multiple choice"}
OE = {"problem_type": "open-ended"}
GOOD = "<think>the flame is yellow</think>\n<answer>{}</answer>"


@pytest.mark.parametrize(
    ("response", "truth", "extra", "expected"),
    [
        pytest.param(GOOD.format("B"), "<answer>B</answer>", MC, (1.0, 1.0, 1.0), id="mc-correct-formatted"),
        pytest.param("<answer>B</answer>", "<answer>B</answer>", MC, (0.9, 1.0, 0.0), id="mc-correct-no-think"),
        pytest.param(GOOD.format("C"), "<answer>B</answer>", MC, (0.1, 0.0, 1.0), id="mc-wrong-formatted"),
        pytest.param(GOOD.format("(B)"), "<answer>B</answer>", MC, (0.1, 0.0, 1.0), id="published-paren-letter-wrong"),
        pytest.param(GOOD.format("b"), "<answer>B</answer>", MC, (0.1, 0.0, 1.0), id="published-case-sensitive"),
        pytest.param("B", "B", MC, (0.9, 1.0, 0.0), id="published-untagged-both-empty"),
        pytest.param("B", "<answer>B</answer>", MC, (0.0, 0.0, 0.0), id="untagged-response"),
        pytest.param(
            GOOD.format("B"), "<ANSWER>B</ANSWER>", MC, (0.1, 0.0, 1.0), id="published-upper-tag-truth-empty"
        ),
        pytest.param("<answer>  B \n</answer>", "<answer> B </answer>", MC, (0.9, 1.0, 0.0), id="whitespace-in-tags"),
        pytest.param(
            "<answer>B</answer><answer>C</answer>", "<answer>B</answer>", MC, (0.9, 1.0, 0.0), id="repeated-first-wins"
        ),
        pytest.param(
            "<answer><answer>B</answer></answer>", "<answer>B</answer>", MC, (0.0, 0.0, 0.0), id="nested-tags"
        ),
        pytest.param(GOOD.format("F"), "<answer>F</answer>", MC, (1.0, 1.0, 1.0), id="letter-beyond-d"),
        pytest.param(
            GOOD.format("B"),
            "<answer>B</answer>",
            {"problem_type": "Multiple Choice"},
            (0.1, 0.0, 1.0),
            id="published-unnormalised-type",
        ),
        pytest.param(GOOD.format("B"), "<answer>B</answer>", None, (0.1, 0.0, 1.0), id="no-extra-info-unknown-type"),
        pytest.param(
            GOOD.format("the sodium flame"),
            "<answer>The sodium flames</answer>",
            OE,
            (1.0, 1.0, 1.0),
            id="oe-exact-after-stemming",
        ),
        pytest.param(GOOD.format("red"), "<answer>blue</answer>", OE, (0.1, 0.0, 1.0), id="oe-disjoint"),
        pytest.param(
            GOOD.format("3.14"), "<answer>3.14</answer>", OE, (1.0, 1.0, 1.0), id="oe-numeric-splits-into-two-tokens"
        ),
        pytest.param(
            GOOD.format("42"),
            "<answer>42</answer>",
            OE,
            (0.9 * (2 / 3) + 0.1, 2 / 3, 1.0),
            id="oe-one-number-no-bigram",
        ),
        pytest.param(
            GOOD.format("café"),
            "<answer>café</answer>",
            OE,
            (0.1 + 0.9 * (2 / 3), 2 / 3, 1.0),
            id="oe-unicode-accent-dropped",
        ),
        pytest.param(
            "<think></think><answer></answer>", "<answer></answer>", OE, (0.1, 0.0, 1.0), id="oe-empty-strings"
        ),
        pytest.param(
            "<think>x</think> <answer>B</answer> tail",
            "<answer>B</answer>",
            MC,
            (0.9, 1.0, 0.0),
            id="format-needs-full-match",
        ),
    ],
)
def test_compute_score_reproduces_published_reward(response, truth, extra, expected, published_score):
    got = compute_score(data_source="videokr", solution_str=response, ground_truth=truth, extra_info=extra)
    assert (got["score"], got["accuracy"], got["format"]) == pytest.approx(expected, abs=1e-12)
    problem_type = str((extra or {}).get("problem_type", ""))
    assert got == published_score(response, truth, problem_type)


@pytest.mark.parametrize(
    ("response", "truth", "kwargs", "accuracy"),
    [
        pytest.param("<answer>(B)</answer>", "<answer>B</answer>", {"mc_normalize": True}, 1.0, id="paren"),
        pytest.param("<answer>B. Sodium</answer>", "<answer>B</answer>", {"mc_normalize": True}, 1.0, id="label"),
        pytest.param(
            "<answer>The answer is B</answer>", "<answer>B</answer>", {"mc_normalize": True}, 1.0, id="phrase"
        ),
        pytest.param(
            "<answer>a flame</answer>", "<answer>A</answer>", {"mc_normalize": True}, 0.0, id="english-a-not-letter"
        ),
        pytest.param("B", "B", {"mc_normalize": True}, 0.0, id="both-empty-no-longer-correct"),
        pytest.param("<answer>I'd pick b</answer>", "<answer>B</answer>", {"mc_normalize": True}, 1.0, id="sentence"),
        pytest.param(
            "<answer>A person would say D</answer>", "<answer>A</answer>", {"mc_normalize": True}, 0.0, id="article"
        ),
        pytest.param("<answer>I'd pick b</answer>", "<answer>B</answer>", {}, 0.0, id="sentence-published-exact"),
        pytest.param("<answer>B</answer>", "<answer>B</answer>", {"type_normalize": True}, 1.0, id="type-normalised"),
    ],
)
def test_compute_score_options_fix_published_quirks(response, truth, kwargs, accuracy):
    extra = {"problem_type": "Multiple Choice" if "type_normalize" in kwargs else "multiple choice"}
    got = compute_score(data_source="videokr", solution_str=response, ground_truth=truth, extra_info=extra, **kwargs)
    assert got["accuracy"] == accuracy


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param({}, (0.9, 0.1), id="published-default"),
        pytest.param({"format_weight": 0.5}, (0.5, 0.5), id="format-only"),
        pytest.param({"accuracy_weight": 0.7}, (0.7, 0.3), id="accuracy-only"),
        pytest.param({"accuracy_weight": 1.0, "format_weight": 0.0}, (1.0, 0.0), id="both"),
    ],
)
def test_weights_are_honoured_when_given(weights, expected):
    assert resolve_weights(weights.get("accuracy_weight"), weights.get("format_weight")) == pytest.approx(expected)
    got = compute_score("videokr", "<answer>B</answer>", "<answer>B</answer>", MC, **weights)
    assert got["score"] == pytest.approx(expected[0])


def test_compute_score_ignores_verl_extra_keywords():
    got = compute_score(
        data_source="videokr",
        solution_str=GOOD.format("B"),
        ground_truth="<answer>B</answer>",
        extra_info=MC,
        reward_router_address=None,
        reward_model_tokenizer=None,
    )
    assert got["score"] == 1.0


def test_compute_score_equals_published_on_random_mixed_rollouts(published_score):
    rng = random.Random(5)
    words = [
        "the",
        "sodium",
        "flame",
        "is",
        "yellow",
        "violet",
        "potassium",
        "burns",
        "bright",
        "light",
        "emitted",
        "589",
        "nm",
        "spectrum",
    ]
    for _ in range(1500):
        is_mc = rng.random() < 0.5
        truth = rng.choice("ABCDEFGH") if is_mc else " ".join(rng.choices(words, k=rng.randint(1, 8)))
        answer = rng.choice(
            [truth, rng.choice("ABCD"), f"({truth})", " ".join(rng.choices(words, k=rng.randint(0, 12)))]
        )
        think = rng.choice(["<think>hmm</think>", "", "<think>x"])
        response = think + rng.choice(["\n", "", " "]) + rng.choice([f"<answer>{answer}</answer>", answer])
        truth_text = rng.choice([f"<answer>{truth}</answer>", truth])
        problem_type = rng.choice(
            ["multiple choice", "open-ended"] if rng.random() < 0.95 else ["mcq", "Multiple Choice"]
        )
        extra = {"problem_type": problem_type}
        assert compute_score(
            data_source="videokr", solution_str=response, ground_truth=truth_text, extra_info=extra
        ) == (published_score(response, truth_text, problem_type))


def test_registry_resolves_every_reward_and_dotted_paths():
    for name in REWARDS:
        assert callable(resolve_reward(name))
    assert resolve_reward("videokr.rewards.score:compute_score") is compute_score
    assert resolve_reward("videokr.rewards.score.compute_score") is compute_score


@pytest.mark.parametrize("name", ["nope", "videokr.rewards.score:missing", "no_such_module:fn"])
def test_registry_rejects_unknown_rewards(name):
    from videokr.errors import ConfigError

    with pytest.raises(ConfigError):
        resolve_reward(name)
