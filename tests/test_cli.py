"""The skprep command line, run as a real subprocess (``python -m skprep``).

Each subprocess that runs a model imports TensorFlow (several seconds), so the end-to-end
checks are grouped: one ``features`` run, one ``predict`` run, one ``info`` run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skprep.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return subprocess.run(
        [sys.executable, "-m", "skprep", *args], capture_output=True, text=True, env=env,
        timeout=timeout, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory, sample_photos) -> Path:
    """Eight small images (crops of the two sample photos) in a folder with a subfolder."""
    from PIL import Image

    root = tmp_path_factory.mktemp("cli_images")
    (root / "sub").mkdir()
    (root / "notes.txt").write_text("not an image")
    for i in range(8):
        photo = sample_photos[i % 2]
        crop = photo[40 * i: 40 * i + 120, 50 * i: 50 * i + 160]
        folder = root / "sub" if i >= 6 else root
        Image.fromarray(crop).save(folder / f"img{i}.{'png' if i % 3 else 'jpg'}")
    return root


def test_models_subprocess_lists_registry():
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "family", "mode"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert len(rows) == 40
    assert rows["ResNet50"][1:4] == ["ResNet", "caffe", "224x224"]
    assert rows["EfficientNetB3"][-1] == "yes" and rows["EfficientNetB3"][3] == "300x300"


def test_bad_input_is_one_line_and_exit_1_unless_debug(tmp_path):
    missing = str(tmp_path / "missing")
    result = run_cli("features", missing, "--model", "resnet50", "-o", str(tmp_path / "f.npz"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr and missing in result.stderr

    debug = run_cli("--debug", "features", missing, "--model", "resnet50",
                    "-o", str(tmp_path / "f.npz"))
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "CLIError" in debug.stderr


@pytest.mark.parametrize("command", [[], ["models"], ["features"], ["predict"], ["info"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: skprep") and "--debug" in out


def test_bad_arguments_in_process(image_dir, tmp_path, capsys):
    out = str(tmp_path / "f.npz")
    assert main(["features", str(image_dir), "--model", "resnet_5O", "-o", out]) == 1
    err = capsys.readouterr().err
    assert "Unknown model name 'resnet_5O'" in err and "ResNet50" in err
    assert main(["features", str(image_dir), "--model", "resnet50", "-o",
                 str(tmp_path / "f.txt")]) == 1
    assert ".npz, .parquet, .csv" in capsys.readouterr().err
    assert main(["features", str(image_dir), "--model", "resnet50", "--input-size", "0",
                 "-o", out]) == 1
    assert "--input-size" in capsys.readouterr().err
    assert main(["features", str(image_dir / "notes.txt"), str(tmp_path), "--model",
                 "resnet50", "-o", out]) == 1
    assert "holds no image files" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "nope.joblib")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: usage error, status 2
        main(["features", str(image_dir)])
    assert exc.value.code == 2
