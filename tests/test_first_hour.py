"""The README's "first hour" runs as written: a labelled folder, fit, save, then the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from skprep.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str, heading: str = "## Your first hour") -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.mark.keras
def test_first_hour_section_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("keras")
    pytest.importorskip("skops")
    monkeypatch.chdir(tmp_path)
    (python,) = _blocks("python")
    namespace = {"__name__": "readme"}
    exec(compile(python, "README.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "['china', 'flower'] 16 4"
    assert 0.0 <= float(printed[1]) <= 1.0

    (grid,) = _blocks("python", "## Grid searches over the head")  # continues the example
    exec(compile(grid, "README.md", "exec"), namespace)  # noqa: S102
    best, score = capsys.readouterr().out.strip().split("} ")
    assert best.startswith("{'C': ") and 0.0 <= float(score) <= 1.0
    assert namespace["pipe"].named_steps["head"] is namespace["search"].best_estimator_

    (shell,) = _blocks("bash")
    for line in shell.strip().splitlines():
        command = shlex.split(line.split("#", 1)[0])
        assert command[0] == "skprep"
        assert main(command[1:]) == 0, line
    captured = capsys.readouterr()
    assert "wrote 20 x 1280 features to features.npz" in captured.err
    assert "wrote 20 predictions to predictions.csv" in captured.err
    assert "checksum: ok" in captured.out and "classes: ['china', 'flower']" in captured.out
    rows = (tmp_path / "predictions.csv").read_text().splitlines()
    assert rows[0].startswith("path,prediction,proba_0,proba_1") and len(rows) == 21
    assert rows[1].startswith("photos/china/0.jpg,")
