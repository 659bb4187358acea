"""The ``skprep`` command line: list models, extract features, predict with a bundle.

Run ``skprep --help`` (or ``python -m skprep --help``) for the subcommands:

* ``skprep models``: the registry table;
* ``skprep features IMAGES_OR_DIR --model NAME -o out.npz|.parquet|.csv``;
* ``skprep predict BUNDLE IMAGES_OR_DIR [-o out.csv] [--verify-with PUBLIC_KEY]``;
* ``skprep info BUNDLE [--verify-with PUBLIC_KEY]``.

Exit status: 0 on success, 1 with a one-line ``skprep: error: ...`` on stderr when
the input is bad (2 for a malformed command line); ``--debug`` shows the traceback.
TensorFlow is imported only by the subcommands that run a model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .exceptions import MAX_LISTED_FAILURES, CLIError, ImageLoadError, PickleRefusedError

__all__ = ["main", "collect_images", "IMAGE_EXTENSIONS"]

#: file extensions taken from a directory (case-insensitive).
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
)


# --------------------------------------------------------------------------- helpers


def collect_images(items: Sequence[str]) -> list[str]:
    """Image files named on the command line; directories are searched recursively.

    Parameters
    ----------
    items : sequence of str
        Files (taken as they are, whatever their extension) and directories (their
        files with an extension in :data:`IMAGE_EXTENSIONS`, sorted by path).

    Returns
    -------
    list of str
        In command-line order, each directory's files sorted.

    Examples
    --------
    >>> collect_images([])
    Traceback (most recent call last):
    ...
    skprep.exceptions.CLIError: no images given: name image files or a directory of images
    """
    paths: list[str] = []
    for item in items:
        if os.path.isdir(item):
            found = sorted(
                str(path) for path in Path(item).rglob("*")
                if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS
            )
            if not found:
                raise CLIError(
                    f"directory {item!r} holds no image files (looked for "
                    f"{', '.join(IMAGE_EXTENSIONS)}, recursively)"
                )
            paths += found
        elif os.path.isfile(item):
            paths.append(item)
        else:
            raise CLIError(f"{item!r} does not exist: give image files or directories")
    if not paths:
        raise CLIError("no images given: name image files or a directory of images")
    return paths


def _verbose(args: argparse.Namespace) -> int:
    """--progress forces a bar (2), --no-progress hides it (0); default: on a terminal (1)."""
    return {True: 2, False: 0, None: 1}[args.progress]


def _input_size(text: str | None) -> tuple[int, int] | None:
    from .registry import parse_input_size

    if text is None:
        return None
    try:
        return parse_input_size(text, name="--input-size")
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _weights(text: str) -> str | None:
    if text.lower() == "none":
        return None
    if text.lower() == "imagenet":
        return "imagenet"
    if not os.path.isfile(text):
        raise CLIError(f"--weights must be none, imagenet or a weights file; {text!r} is none")
    return text


def _pooling(text: str) -> str | None:
    return None if text == "none" else text


def _layer(text: str | None) -> str | int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------- output


def _write_table(path: str, paths: list[str], values: Any, columns: list[str]) -> None:
    """Write rows (path + columns) to .npz, .csv or .parquet, by the file extension."""
    from ._tables import TableWriter

    try:
        writer = TableWriter(path, columns)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    writer.write(paths, values)
    writer.close()


def _stream_table(output: str, batches, paths: list[str], args: argparse.Namespace,
                  rows_of) -> tuple[int, int]:
    """Write each batch as it comes: ``batches`` yields ``(start, outputs, failures)``,
    ``rows_of(outputs)`` gives ``(values, columns)``. One warning line per failed image.
    Returns (rows written, failures); an error removes the partial output."""
    from ._tables import TableWriter

    writer, n_failed = None, 0
    verb = "skipped" if args.on_error == "skip" else "filled"
    try:
        for start, outputs, failures in batches:
            values, columns = rows_of(outputs)
            if writer is None:
                writer = TableWriter(output, columns, errors=True)
            errors = {}
            for failure in failures:
                errors[failure.index - start] = f"{failure.error_type}: {failure.message}"
                print(f"skprep: warning: {verb} image {failure.index} ({failure.source}): "
                      f"{failure.message}", file=sys.stderr)
            writer.write(paths[start:start + len(values)], values, errors,
                         skip=args.on_error == "skip")
            n_failed += len(failures)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return (writer.close() if writer is not None else 0), n_failed


def _failure_status(n_failed: int, n_total: int, args: argparse.Namespace) -> int:
    """Print the summary of failed images; exit status 1 when none loaded, else 0."""
    if not n_failed:
        return 0
    verb = "skipped" if args.on_error == "skip" else "filled"
    print(f"skprep: warning: {n_failed} of {n_total} image(s) could not be loaded and were "
          f"{verb}; the output lists them with their error", file=sys.stderr)
    if n_failed == n_total:
        print("skprep: error: no image could be loaded", file=sys.stderr)
        return 1
    return 0


def _stream_batch(batch_size: int) -> int:
    """Images loaded per streamed batch: eight forward passes of ``batch_size``."""
    return 8 * batch_size


def _check_output(path: str | None, allowed: tuple[str, ...]) -> None:
    if path is None or path == "-":
        return
    if Path(path).suffix.lower() not in allowed:
        raise CLIError(f"output {path!r}: the extension must be one of {', '.join(allowed)}")
    parent = Path(path).parent
    if not parent.is_dir():
        raise CLIError(f"output {path!r}: folder {str(parent)!r} does not exist")


# --------------------------------------------------------------------------- commands


def _cmd_models(args: argparse.Namespace) -> int:
    from .registry import list_models

    specs = list_models(args.family)
    if not specs:
        raise CLIError(f"no model family {args.family!r}; `skprep models` lists them all")
    rows = [("name", "family", "mode", "input size", "built-in preprocessing")]
    rows += [(s.name, s.family, s.mode, f"{s.input_size[0]}x{s.input_size[1]}",
              "yes" if s.builtin_preprocessing else "no") for s in specs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return 0


def _build_feature_steps(args: argparse.Namespace):
    """(ImageLoader, KerasModeNormalizer or None, fitted KerasFeatureExtractor)."""
    from .exceptions import WeightsUnavailableError
    from .images import ImageLoader
    from .normalize import KerasModeNormalizer
    from .registry import get_model_spec

    size = _input_size(args.input_size)
    spec = None if os.path.isfile(args.model) else get_model_spec(args.model)
    weights = _weights(args.weights) if spec is not None else None
    try:
        from .features import KerasFeatureExtractor
    except ImportError as exc:  # pragma: no cover - only without the features module
        raise CLIError(f"feature extraction is not available: {exc}") from exc

    common = {"layer": _layer(args.layer), "pooling": _pooling(args.pooling),
              "batch_size": args.batch_size}
    if spec is None:  # a saved Keras model: its own input size; no preprocessing unless --mode
        mode = args.mode or "none"
        extractor = KerasFeatureExtractor(model=args.model, **common)
    else:
        mode = args.mode or spec.mode
        size = size or spec.input_size
        extractor = KerasFeatureExtractor(model=spec.name, weights=weights,
                                          input_shape=(*size, 3), **common)
    try:
        extractor.fit()
    except WeightsUnavailableError as exc:
        raise CLIError(
            f"{str(exc).splitlines()[0]} On the command line: --weights PATH (the notop "
            "weights file) or --weights none."
        ) from exc
    model_size = tuple(extractor.input_shape_[:2])
    if size is None:
        if None in model_size:
            raise CLIError("the model accepts any image size: give one with --input-size H,W")
        size = model_size
    elif None not in model_size and tuple(size) != model_size:
        raise CLIError(f"--input-size {size[0]},{size[1]} does not match the model's input "
                       f"size {model_size[0]},{model_size[1]}")
    normalizer = KerasModeNormalizer(mode) if mode != "none" else None
    return ImageLoader(target_size=tuple(size)), normalizer, extractor


def _check_feature_steps(loader, normalizer, extractor) -> None:
    """check_pipeline on the command's steps: findings on stderr. The extractor's own
    first-batch check stays on only when the steps agree (one report per mistake)."""
    from sklearn.pipeline import Pipeline

    from .guard import check_pipeline

    steps = [("loader", loader), ("normalizer", normalizer), ("extractor", extractor)]
    # the steps are fitted as the images stream: what is fitted is not a finding here
    findings = [f for f in check_pipeline(Pipeline([s for s in steps if s[1] is not None]))
                if f.severity != "info" and not f.code.endswith("-not-fitted")]
    for finding in findings:
        print(f"skprep: warning: {finding}", file=sys.stderr)
    extractor.set_params(check_input=not findings)


def _cmd_features(args: argparse.Namespace) -> int:
    import numpy as np

    from .streaming import StreamingPipeline

    _check_output(args.output, (".npz", ".parquet", ".csv"))
    if args.batch_size <= 0:
        raise CLIError(f"--batch-size must be a positive integer; got {args.batch_size}")
    paths = collect_images(args.images)
    loader, normalizer, extractor = _build_feature_steps(args)
    _check_feature_steps(loader, normalizer, extractor)
    loader.set_params(on_error="raise" if args.on_error == "raise" else "fill").fit()
    if normalizer is not None:  # stateless: fit only resolves the mode and checks the shape
        normalizer.fit(np.zeros((1, *loader.target_size, loader.n_channels_), np.uint8))
    extractor.set_params(verbose=_verbose(args))  # the pipeline's one bar, over images
    body = StreamingPipeline([("loader", loader), ("normalizer", normalizer or "passthrough"),
                              ("extractor", extractor)],
                             batch_size=_stream_batch(args.batch_size))
    columns = [str(name) for name in extractor.get_feature_names_out()]
    n_rows, n_failed = _stream_table(
        args.output, body.iter_transform(paths, return_failures=True), paths, args,
        lambda features: (features, columns))
    kept = n_rows - (n_failed if args.on_error == "skip" else 0)
    print(f"wrote {kept} x {len(columns)} features to {args.output}", file=sys.stderr)
    return _failure_status(n_failed, len(paths), args)


def _load_bundle(path: str, allow_pickle: bool, verify_with: str | None = None):
    """A bundle written by skprep.save (checked; its signature first with --verify-with),
    or a joblib file with --allow-pickle."""
    import zipfile

    from .persistence import load

    if not os.path.isfile(path):
        raise CLIError(f"bundle {path!r} does not exist")
    if verify_with is not None:
        return load(path, allow_pickle=allow_pickle, verify_with=verify_with)
    if not zipfile.is_zipfile(path) and not allow_pickle:
        raise CLIError(
            f"{path!r} is not a skprep bundle but a plain pickle/joblib file, which runs "
            "code when loaded: pass --allow-pickle if you trust it, or save it with skprep.save"
        )
    try:
        return load(path, allow_pickle=allow_pickle)
    except PickleRefusedError as exc:  # name the command-line flag, not the argument
        raise CLIError(f"{path!r} holds a pickle payload, which runs code when loaded: "
                       "pass --allow-pickle if you trust it") from exc


def _predict_body(pipe: Any, args: argparse.Namespace):
    """(streaming body, head) of a bundle: the loader follows --on-error and --progress."""
    from .images import ImageLoader
    from .streaming import StreamingPipeline

    if not (hasattr(pipe, "steps") and len(pipe.steps) > 1):
        return None, pipe
    head = pipe.steps[-1][1]
    body = StreamingPipeline(list(pipe.steps[:-1]), batch_size=_stream_batch(args.batch_size))
    first = body.steps[0][1]
    if isinstance(first, ImageLoader):
        first.set_params(on_error="raise" if args.on_error == "raise" else "fill",
                         verbose=_verbose(args))
    return body, head


def _cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    _check_output(args.output, (".csv", ".parquet"))
    paths = collect_images(args.images)
    pipe = _load_bundle(args.bundle, args.allow_pickle, args.verify_with)
    if args.batch_size <= 0:
        raise CLIError(f"--batch-size must be a positive integer; got {args.batch_size}")
    body, head = _predict_body(pipe, args)
    if not hasattr(head, "predict"):
        raise CLIError(f"the bundle's last step ({type(head).__name__}) has no predict method; "
                       "for a feature pipeline use `skprep features`")
    has_proba = hasattr(pipe, "predict_proba")
    classes = getattr(pipe, "classes_", None)

    def rows_of(features: Any) -> tuple[Any, list[str]]:
        labels = np.asarray(head.predict(features))
        columns = (["prediction"] if labels.ndim == 1
                   else [f"prediction{i}" for i in range(labels.shape[1])])
        parts = [labels.reshape(len(labels), -1).astype(object)]
        if has_proba:
            proba = np.asarray(head.predict_proba(features))
            columns += [f"proba_{c}" for c in
                        (classes if classes is not None else range(proba.shape[1]))]
            parts.append(proba.astype(object))
        return np.concatenate(parts, axis=1), columns

    batches = (body.iter_transform(paths, return_failures=True) if body is not None else
               ((start, paths[start:start + args.batch_size], [])
                for start in range(0, len(paths), args.batch_size)))
    output = args.output or "-"
    _, n_failed = _stream_table(output, batches, paths, args, rows_of)
    return _failure_status(n_failed, len(paths), args)


def _describe(value: Any) -> str:
    """A short repr for the parameter listing."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _load_quietly(path: str, allow_pickle: bool):
    """_load_bundle without skprep.load's preprocessing warning: info lists the findings."""
    import warnings

    from .exceptions import PreprocessingMismatchWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessingMismatchWarning)
        return _load_bundle(path, allow_pickle)


def _preprocessing_findings(pipe: Any) -> list[dict] | None:
    """check_pipeline's findings as dicts; None for an estimator that is not a Pipeline."""
    import dataclasses

    from sklearn.pipeline import Pipeline

    from .guard import check_pipeline

    if not isinstance(pipe, Pipeline):
        return None
    return [dataclasses.asdict(finding) for finding in check_pipeline(pipe)]


def _print_steps(info: dict[str, Any]) -> None:
    """The steps of ``skprep info`` and their parameters, then the preprocessing findings."""
    if "steps" in info:
        print("steps:")
        for step in info["steps"]:
            print(f"  {step['name']}: {step['class']}")
            for key, value in step["params"].items():
                print(f"    {key} = {value}")
    _print_findings(info.get("preprocessing"))


def _print_findings(findings: list[dict] | None) -> None:
    if findings is None:
        return
    if not findings:
        print("preprocessing: ok (the steps agree with the model)")
        return
    print("preprocessing:")
    for finding in findings:
        print(f"  [{finding['severity']}] {finding['code']}: {finding['message']}")


def _cmd_info(args: argparse.Namespace) -> int:
    import zipfile

    from .exceptions import BundleIntegrityError
    from .persistence import read_manifest, signature_status

    if not os.path.isfile(args.bundle):
        raise CLIError(f"bundle {args.bundle!r} does not exist")
    bundle = zipfile.is_zipfile(args.bundle)
    manifest = read_manifest(args.bundle) if bundle else None
    info: dict[str, Any] = {"bundle": args.bundle, "format": "skprep" if bundle else "joblib"}
    if manifest is not None:
        info.update({key: manifest.get(key) for key in
                     ("format_version", "serialization", "estimator", "created", "versions",
                      "metadata", "keras_models")})
    info["signature"] = signature_status(args.bundle, args.verify_with)
    status, pipe = 0, None
    if info["signature"].startswith("INVALID"):  # never load what failed its signature
        status = 1
    else:
        try:
            pipe = _load_quietly(args.bundle, args.allow_pickle)
            info["checksum"] = ("ok (every member matches its sha256)" if bundle
                                else "n/a (no header)")
        except BundleIntegrityError as exc:  # still show what the manifest says
            status = 1
            info["checksum"] = f"FAILED: {exc}"
    if pipe is not None:
        steps = getattr(pipe, "steps", [(type(pipe).__name__, pipe)])
        info["steps"] = [
            {"name": name, "class": type(step).__name__,
             "params": {key: _describe(value)
                        for key, value in sorted(step.get_params(deep=False).items())}
             if hasattr(step, "get_params") else {}}
            for name, step in steps
        ]
        info["preprocessing"] = _preprocessing_findings(pipe)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return status
    for key, value in info.items():
        if key in ("steps", "preprocessing"):
            continue
        if isinstance(value, dict):
            print(f"{key}:")
            for sub_key, sub_value in value.items():
                print(f"  {sub_key}: {sub_value}")
        elif isinstance(value, list):
            print(f"{key}: {json.dumps(value, default=str)}")
        else:
            print(f"{key}: {value}")
    _print_steps(info)
    if status:
        failed = "signature" if info["signature"].startswith("INVALID") else "checksum"
        print(f"skprep: error: {args.bundle!r} failed its {failed}: do not use it",
              file=sys.stderr)
    return status


# --------------------------------------------------------------------------- parser


def _parent_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Options shared by every subcommand (--debug) and by those that run (progress)."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not override `skprep --debug COMMAND`
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    run = argparse.ArgumentParser(add_help=False)
    bar = run.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar (default: only on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show a progress bar")
    run.add_argument("--on-error", choices=["skip", "fill", "raise"], default="skip",
                     help="an image that cannot be loaded: skip it (default; a warning line, "
                     "and the output lists it with its error and no values), fill it (values "
                     "of a blank image, listed too), or raise (stop, write nothing, exit 1). "
                     "Exit status 1 when no image loaded")
    return common, run


def _add_models(sub, common: argparse.ArgumentParser) -> None:
    models = sub.add_parser("models", parents=[common], help="list the known Keras models",
                            description="The registry: every keras.applications model with "
                            "its preprocessing mode, input size and built-in preprocessing.")
    models.add_argument("--family", help="only this family (e.g. ResNet, EfficientNet)")
    models.set_defaults(func=_cmd_models)


def _add_images_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGES_OR_DIR",
                        help="image files and/or directories (searched recursively)")


def _add_allow_pickle(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load plain joblib/pickle files (they run code: trusted only)")


def _add_verify_with(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--verify-with", metavar="PUBLIC_KEY",
                        help="PEM elliptic-curve public key: " + what + " BUNDLE.sig "
                        "(OpenSSF model-signing, from skprep.save(..., sign_with=...) or "
                        "`model_signing sign key`); needs skprep[sign]")


def _add_features(sub, parents: list[argparse.ArgumentParser]) -> None:
    feats = sub.add_parser(
        "features", parents=parents, help="extract backbone features from images",
        description="Load images, apply the model's preprocessing, run the backbone and "
        "write one row of features per image, with its path.")
    _add_images_argument(feats)
    feats.add_argument("--model", required=True,
                       help="registry name (see `skprep models`) or a .keras / .h5 file")
    feats.add_argument("--weights", default="imagenet",
                       help="none, imagenet (default; needs the Keras cache or internet) or a "
                       "weights file")
    feats.add_argument("--layer", help="name or index of the layer to read (default: the top)")
    feats.add_argument("--pooling", default="avg", choices=["avg", "max", "flatten", "none"],
                       help="how spatial maps become a vector (default: avg)")
    feats.add_argument("--batch-size", type=int, default=32,
                       help="images per forward pass (32); 8 batches are loaded at a time")
    feats.add_argument("--input-size", help="N or H,W (default: the model's)")
    feats.add_argument("--mode", choices=["caffe", "tf", "torch", "none"],
                       help="override the preprocessing mode (default: the model's)")
    feats.add_argument("-o", "--output", required=True,
                       help="output file: .npz, .parquet or .csv (paths kept beside rows)")
    feats.set_defaults(func=_cmd_features)


def _add_predict(sub, parents: list[argparse.ArgumentParser]) -> None:
    pred = sub.add_parser(
        "predict", parents=parents, help="predict with a saved pipeline bundle",
        description="Load a bundle (skprep.save or joblib.dump of a fitted pipeline that "
        "takes image paths) and predict on images; one CSV row per image.")
    pred.add_argument("bundle", metavar="BUNDLE", help="the saved pipeline")
    _add_images_argument(pred)
    pred.add_argument("-o", "--output", help="output file (.csv or .parquet); default: CSV "
                      "on stdout")
    pred.add_argument("--batch-size", type=int, default=64,
                      help="images per batch (64); 8 batches are loaded at a time")
    _add_allow_pickle(pred)
    _add_verify_with(pred, "refuse the bundle unless it verifies with")
    pred.set_defaults(func=_cmd_predict)


def _add_info(sub, common: argparse.ArgumentParser) -> None:
    info = sub.add_parser(
        "info", parents=[common], help="describe a saved pipeline bundle",
        description="Steps, parameters, versions, metadata, checksum and signature status of "
        "a bundle.")
    info.add_argument("bundle", metavar="BUNDLE", help="the saved pipeline")
    info.add_argument("--json", action="store_true", help="print JSON")
    _add_allow_pickle(info)
    _add_verify_with(info, "verify (and show) the signature")
    info.set_defaults(func=_cmd_info)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``skprep`` command."""
    from . import __version__

    common, run = _parent_parsers()
    parser = argparse.ArgumentParser(
        prog="skprep", parents=[common],
        description="scikit-learn preprocessing for deep-learning models, from the shell.",
    )
    parser.add_argument("--version", action="version", version=f"skprep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_models(sub, common)
    _add_features(sub, [common, run])
    _add_predict(sub, [common, run])
    _add_info(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on an error (2 for a malformed command line).

    Examples
    --------
    >>> main(["models", "--family", "vgg"])  # doctest: +NORMALIZE_WHITESPACE
    name   family  mode   input size  built-in preprocessing
    -----  ------  -----  ----------  ----------------------
    VGG16  VGG     caffe  224x224     no
    VGG19  VGG     caffe  224x224     no
    0
    """
    # TensorFlow's C++ info lines are noise on a command line (an explicit setting wins)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("skprep: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line unless --debug
        if getattr(args, "debug", False):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, ImageLoadError) and len(exc.failures) > 1:  # name every file
            listed = exc.failures[:MAX_LISTED_FAILURES]
            message += " " + "; ".join(str(failure) for failure in listed) + (
                f"; ... and {len(exc.failures) - len(listed)} more"
                if len(exc.failures) > len(listed) else "")
        print(f"skprep: error: {message} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
