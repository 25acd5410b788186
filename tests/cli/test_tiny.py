"""`videokr tiny build`: a tiny random Qwen-VL checkpoint, its path, size and build time printed."""

from pathlib import Path
from typing import Any

import pytest

from videokr.cli import main
from videokr.tiny import count_parameters, detect_family


def _tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


def test_build_prints_path_params_and_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-model"
    assert main(["tiny", "build", "--family", "qwen3_vl", "--size", "small", "--seed", "2", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert f"parameters: {count_parameters(out):,}" in printed
    assert " s" in printed.splitlines()[-1]
    assert detect_family(out) == "qwen3_vl"
    assert main(["tiny", "build", str(out)]) == 1
    assert "not empty" in capsys.readouterr().err


def test_corpus_file_teaches_the_tokenizer_new_words(tmp_path: Path) -> None:
    corpus = tmp_path / "words.txt"
    corpus.write_text("The glorptastic flame.\n\n" * 5, encoding="utf-8")
    with_words, without = tmp_path / "with", tmp_path / "without"
    assert main(["tiny", "build", "--size", "demo", "--corpus", str(corpus), str(with_words)]) == 0
    assert main(["tiny", "build", "--size", "demo", str(without)]) == 0
    assert _tokenizer(with_words).tokenize(" glorptastic") == ["Ġglorptastic"]
    assert len(_tokenizer(without).tokenize(" glorptastic")) > 1


def test_unreadable_corpus_is_one_error_and_no_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiny", "build", "--corpus", str(tmp_path / "missing.txt"), str(tmp_path / "m")]) == 1
    assert "cannot read corpus file" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
