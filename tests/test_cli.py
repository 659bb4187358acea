"""The skprep command line, run in-process through ``main()`` as a user runs it.

One smoke test runs the real ``python -m skprep`` in subprocesses (a process that imports
TensorFlow costs several seconds): predict and info, and checks that they start quietly.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skprep.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command itself must start quietly
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


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "family", "mode"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert len(rows) == 40
    assert rows["ResNet50"][1:4] == ["ResNet", "caffe", "224x224"]
    assert rows["EfficientNetB3"][-1] == "yes" and rows["EfficientNetB3"][3] == "300x300"


def test_bad_input_is_one_line_and_exit_1_unless_debug(tmp_path, capsys):
    from skprep.exceptions import CLIError

    missing = str(tmp_path / "missing")
    assert main(["features", missing, "--model", "resnet50", "-o", str(tmp_path / "f.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "does not exist" in err and missing in err
    with pytest.raises(CLIError, match="does not exist"):  # --debug: the exception itself
        main(["--debug", "features", missing, "--model", "resnet50",
              "-o", str(tmp_path / "f.npz")])


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


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def keras_mod():
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def vgg_weights(tmp_path_factory, keras_mod):
    """A VGG16 'notop' weights file at 32x32, written by the test (no download), and the model."""
    keras_mod.utils.set_random_seed(0)
    model = keras_mod.applications.VGG16(include_top=False, weights=None,
                                         input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    model.save_weights(path)
    return str(path), model


def test_features_end_to_end_csv_with_paths_and_forced_bar(image_dir, vgg_weights, tmp_path,
                                                           capsys):
    from skprep import ImageLoader, KerasModeNormalizer

    weights, model = vgg_weights
    out = tmp_path / "features.csv"
    status = main(["features", str(image_dir), "--model", "vgg16", "--weights", weights,
                   "--input-size", "32", "--pooling", "max", "--batch-size", "3",
                   "--progress", "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "8/8" in err and "img/s" in err  # --progress forces one bar, over images
    assert f"wrote 8 x 512 features to {out}" in err
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    expected_paths = sorted(str(p) for p in image_dir.rglob("*") if p.suffix in (".png", ".jpg"))
    assert [row[0] for row in rows] == expected_paths and len(rows) == 8
    assert header[0] == "path" and len(header) == 1 + 512 + 1 and header[-1] == "error"
    assert all(row[-1] == "" for row in rows)  # every image loaded
    rows = [row[:-1] for row in rows]
    got = np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float32)

    # the same thing by hand: Pillow resize, caffe preprocessing, the VGG16, global max pool
    pixels = ImageLoader(target_size=(32, 32)).transform(expected_paths)
    maps = model.predict(KerasModeNormalizer("caffe").fit_transform(pixels), verbose=0)
    expected = maps.max(axis=(1, 2))
    assert expected.std() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def bundle(image_dir, tmp_path_factory, keras_mod):
    """A fitted image pipeline saved with skprep.save, and its in-process predictions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    import skprep
    from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer

    keras_mod.utils.set_random_seed(1)
    inputs = keras_mod.Input((24, 20, 3))
    x = keras_mod.layers.Conv2D(6, 3, strides=2, activation="tanh")(inputs)
    backbone = keras_mod.Model(inputs, x)
    paths = sorted(str(p) for p in image_dir.rglob("*") if p.suffix in (".png", ".jpg"))
    pipe = Pipeline([
        ("loader", ImageLoader(target_size=(24, 20))),
        ("normalizer", KerasModeNormalizer("tf")),
        ("extractor", KerasFeatureExtractor(backbone)),
        ("head", LogisticRegression(C=100.0, max_iter=2000)),
    ]).fit(paths, np.arange(8) % 3)
    path = tmp_path_factory.mktemp("bundle") / "model.skprep"
    skprep.save(pipe, path, metadata={"run": "cli-test"})
    return str(path), paths, pipe.predict(paths), pipe.predict_proba(paths)


def _read_predictions(path, paths, labels, proba):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["path"] for row in rows] == paths
    assert [int(row["prediction"]) for row in rows] == labels.tolist()
    got = np.array([[float(row[f"proba_{c}"]) for c in range(3)] for row in rows])
    np.testing.assert_allclose(got, proba, atol=1e-6)


def test_predict_end_to_end_with_a_confirmation_line(bundle, image_dir, tmp_path, capsys):
    path, paths, labels, proba = bundle
    out = tmp_path / "pred.csv"
    assert main(["predict", path, str(image_dir), "--batch-size", "5", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err == f"wrote 8 predictions to {out}\n"  # no bar by default (not a terminal)
    _read_predictions(out, paths, labels, proba)
    assert main(["predict", path, str(image_dir)]) == 0  # CSV on stdout, nothing else
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.splitlines()[0].startswith("path,prediction")


def test_smoke_real_processes_start_quietly(bundle, image_dir, tmp_path):
    """``python -m skprep``: predict and info (which loads the bundle for its checks) are quiet."""
    path, paths, labels, proba = bundle
    out = tmp_path / "pred.csv"
    result = run_cli("predict", path, str(image_dir), "--batch-size", "5", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote 8 predictions to {out}\n"  # no TensorFlow start-up lines
    _read_predictions(out, paths, labels, proba)
    info = run_cli("info", path)
    assert info.returncode == 0 and info.stderr == "", info.stderr
    assert "checksum: ok" in info.stdout and "head: LogisticRegression" in info.stdout


def test_info_and_a_tampered_bundle(bundle, tmp_path, capsys):
    # in-process (this process has TensorFlow already); predict/features cover the subprocess
    import zipfile

    path = bundle[0]
    assert main(["info", path]) == 0
    text = capsys.readouterr().out
    for needle in ("format: skprep", "checksum: ok", "run: cli-test", "scikit-learn:",
                   "extractor: KerasFeatureExtractor", "head: LogisticRegression", "C = 100.0"):
        assert needle in text, needle

    with zipfile.ZipFile(path) as zf:  # stored, not compressed: flip one payload byte
        manifest = json.loads(zf.read("manifest.json"))
        info = zf.getinfo(manifest["payload"])
    data = bytearray(open(path, "rb").read())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.file_size // 2] ^= 0xFF
    tampered = tmp_path / "tampered.skprep"
    tampered.write_bytes(bytes(data))
    assert main(["info", str(tampered)]) == 1
    captured = capsys.readouterr()
    # zip's own CRC-32 or skprep's sha256 catches it: either way a BundleIntegrityError
    assert "checksum: FAILED" in captured.out and "estimator.skops" in captured.out
    assert "failed its checksum" in captured.err
    assert main(["predict", str(tampered), str(tampered.parent.parent)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "estimator.skops" in err and "Traceback" not in err


def test_write_table_npz_and_parquet(tmp_path):
    from skprep.cli import _write_table

    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    _write_table(str(tmp_path / "f.npz"), ["a", "b", "c"], values, ["x", "y"])
    with np.load(tmp_path / "f.npz") as data:
        np.testing.assert_array_equal(data["features"], values)
        assert data["paths"].tolist() == ["a", "b", "c"]
        assert data["columns"].tolist() == ["x", "y"]
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    _write_table(str(tmp_path / "f.parquet"), ["a", "b", "c"], values, ["x", "y"])
    frame = pd.read_parquet(tmp_path / "f.parquet")
    assert frame.columns.tolist() == ["path", "x", "y"] and frame["path"].tolist() == ["a", "b",
                                                                                        "c"]
    np.testing.assert_array_equal(frame[["x", "y"]].to_numpy(), values)


# --------------------------------------------------------------------------- first-hour messages


def test_files_are_told_apart_by_their_signature(bundle, image_dir, tmp_path, capsys):
    import joblib
    from PIL import Image

    import skprep

    path = bundle[0]
    pickled = tmp_path / "pipe.joblib"
    joblib.dump(skprep.load(path), pickled)  # embeds .keras bytes: zipfile calls it a zip
    assert main(["info", str(pickled)]) == 1
    err = capsys.readouterr().err
    assert "a pickle / joblib file (protocol" in err and "--allow-pickle" in err
    assert main(["info", "--allow-pickle", str(pickled)]) == 0
    out = capsys.readouterr().out
    for needle in ("checksum: n/a", "extractor: KerasFeatureExtractor", "C = 100.0"):
        assert needle in out, needle

    pickle_bundle = tmp_path / "pickled.skprep"  # a bundle whose payload is a pickle
    skprep.save(skprep.load(path), pickle_bundle, format="pickle")
    assert main(["info", str(pickle_bundle)]) == 1  # the manifest, not the pickle's steps
    captured = capsys.readouterr()
    assert "serialization: pickle" in captured.out and "checksum: ok" in captured.out
    assert "steps:" not in captured.out and "--allow-pickle" in captured.err

    photo = tmp_path / "photo.skprep"  # a JPEG with a bundle's name
    Image.new("RGB", (8, 8)).save(photo, format="JPEG")
    assert main(["info", str(photo)]) == 1
    assert f"'{photo}' is a JPEG image, not a bundle" in capsys.readouterr().err
    assert main(["predict", str(photo), str(image_dir)]) == 1
    assert "is a JPEG image, not a bundle" in capsys.readouterr().err
    assert main(["predict", str(image_dir), path]) == 1  # the two arguments swapped
    err = capsys.readouterr().err
    assert f"the arguments are swapped: '{path}' is the bundle" in err
    assert f"skprep predict {path} {image_dir}" in err


def test_info_json_gives_json_values(bundle, capsys):
    assert main(["info", "--json", bundle[0]]) == 0
    info = json.loads(capsys.readouterr().out)
    steps = {step["name"]: step for step in info["steps"]}
    assert steps["head"]["params"]["C"] == 100.0 and steps["head"]["params"]["max_iter"] == 2000
    assert steps["loader"]["params"]["target_size"] == [24, 20]
    assert steps["loader"]["params"]["n_jobs"] is None
    assert steps["normalizer"]["params"]["mode"] == "tf"
    assert steps["extractor"]["params"]["model"] == "<Keras model: bundle member models/0.keras>"
    assert info["metadata"] == {"run": "cli-test"} and info["checksum"].startswith("ok")
    assert info["keras_models"][0]["path"] == "extractor"


def test_weights_and_layer_mistakes_say_what_exists(image_dir, tmp_path, capsys, keras_mod):
    out = str(tmp_path / "f.npz")
    assert main(["features", str(image_dir), "--model", "vgg16", "--weights", "missing.h5",
                 "-o", out]) == 1
    err = capsys.readouterr().err
    assert "--weights 'missing.h5': no such file" in err and "none" in err
    assert main(["features", str(image_dir), "--model", "vgg16", "--weights", "none",
                 "--input-size", "32", "--layer", "nope", "-o", out]) == 1
    err = capsys.readouterr().err
    assert "layer='nope' is not a layer" in err and "model.summary" not in err
    assert "block1_conv1, block1_conv2, block1_pool" in err and "block5_pool" in err
    assert err.count("\n") == 1


def test_info_no_checks_reads_the_manifest_only_without_tensorflow(bundle):
    """``info --no-checks``: the fast path, described from the manifest, no TensorFlow."""
    code = ("import json, sys; from skprep.cli import main; rc = main(['info', '--json', "
            f"'--no-checks', {bundle[0]!r}]); "
            "print(json.dumps([rc, 'tensorflow' in sys.modules, 'keras' in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    lines = proc.stdout.strip().splitlines()
    info = json.loads("\n".join(lines[:-1]))
    assert json.loads(lines[-1]) == [0, False, False]
    assert info["checksum"].startswith("ok") and "preprocessing" not in info
    assert {step["name"] for step in info["steps"]} == {"loader", "normalizer", "extractor",
                                                          "head"}
