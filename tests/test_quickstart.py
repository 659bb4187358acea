"""The README's first example runs offline and its fresh-process reload is identical."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import skprep

pytest.importorskip("keras")
pytest.importorskip("skops")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


@pytest.mark.slow
@pytest.mark.keras
def test_quickstart_runs_and_reloads_identically(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    summary = quickstart.main(["--out", str(tmp_path), "--per-class", "6", "--input-size", "32"])
    printed = capsys.readouterr().out
    for step in ("1. made 12 training", "2. pipeline steps", "3. 5-fold", "4. saved",
                 "5. a fresh Python process"):
        assert step in printed
    assert summary["identical"] is True and summary["weights"] is None
    assert 0.0 <= summary["held_out_accuracy"] <= 1.0
    manifest = skprep.read_manifest(tmp_path / "photos.skprep")
    assert manifest["metadata"] == {"classes": ["china", "flower"], "example": "quickstart"}
    assert json.loads((tmp_path / "held_out.json").read_text())[0].endswith(".png")
