"""paths_from_directory: a folder of labelled images -> (paths, labels, class_names).

The same files, in the same order, with the same labels and the same train/validation
split as ``keras.utils.image_dataset_from_directory`` (its ``file_paths`` and labels) for
the same arguments, but as plain lists and arrays that feed ``ImageLoader`` and any
scikit-learn estimator. The indexing rules are Keras 3's (``index_directory``):

* classes are the sub-folders of ``directory`` (sorted, hidden ones skipped), or
  ``class_names`` in the order given;
* each class folder is walked recursively; folders are visited in sorted path order and
  files sorted by name within each folder; a file is kept when its lower-cased name ends
  with one of ``formats``;
* ``shuffle=True`` permutes paths and labels with ``numpy.random.RandomState(seed)``;
* ``validation_split`` keeps the last ``int(validation_split * n)`` files for validation
  and the rest for training.

Nothing is decoded here and TensorFlow is not needed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._compat import Interval, StrOptions, validate_params
from .exceptions import ImageFolderError, ImageFolderNotFoundError

__all__ = ["paths_from_directory", "KERAS_IMAGE_FORMATS"]

#: the extensions ``keras.utils.image_dataset_from_directory`` indexes.
KERAS_IMAGE_FORMATS: tuple[str, ...] = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _check_split(validation_split: float | None, subset: str | None, shuffle: bool,
                 seed: int | None) -> None:
    """The argument combinations Keras refuses (``check_validation_split_arg``)."""
    if bool(validation_split) != bool(subset):
        raise ImageFolderError(
            "validation_split and subset go together: pass both (e.g. validation_split=0.2, "
            f"subset='training'), or neither. Received: validation_split={validation_split!r}, "
            f"subset={subset!r}."
        )
    if validation_split and shuffle and seed is None:
        raise ImageFolderError(
            "validation_split with shuffle=True needs a seed (the same one for the "
            "'training' and the 'validation' call), else the two subsets can overlap."
        )


def _class_dirs(directory: str, labels: Any, class_names: Sequence[str] | None) -> list[str]:
    """The class sub-folders to walk, in label order (``[""]``: the whole directory)."""
    if not isinstance(labels, str):
        if class_names is not None:
            raise ImageFolderError(
                "class_names can only be given with labels='inferred' (with explicit labels "
                "they are the sorted labels; with labels=None there are no classes). "
                f"Received: class_names={list(class_names)!r}."
            )
        return [""]
    found = [
        name.rstrip("/") for name in sorted(os.listdir(directory))
        if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")
    ]
    if class_names is None:
        return found
    class_names = [str(name) for name in class_names]
    missing = sorted(set(class_names) - set(found))
    if missing:
        raise ImageFolderError(
            f"class_names {missing!r} are not sub-folders of {directory!r}; its sub-folders "
            f"are {found!r}. class_names chooses and orders classes among them."
        )
    return class_names


def _walk_files(root: str, follow_links: bool, formats: tuple[str, ...]) -> list[str]:
    """Files under ``root`` whose lower-cased name ends with a format, in Keras' order."""
    walk = sorted(os.walk(root, followlinks=follow_links), key=lambda entry: entry[0])
    return [
        os.path.join(folder, name)
        for folder, _, files in walk
        for name in sorted(files)
        if name.lower().endswith(formats)
    ]


def _index(directory: str, class_dirs: list[str], follow_links: bool,
           formats: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Every kept file as ``directory``-joined path, with its class index (int32)."""
    paths: list[str] = []
    indices: list[int] = []
    for index, subdir in enumerate(class_dirs):
        class_root = os.path.join(directory, subdir)
        label_dir = os.path.basename(class_root)
        for path in _walk_files(class_root, follow_links, formats):
            relative = os.path.join(label_dir, os.path.relpath(path, class_root))
            paths.append(os.path.join(directory, relative))
            indices.append(index)
    return paths, np.asarray(indices, dtype=np.int32)


def _explicit_labels(labels: Any, n_files: int, directory: str) -> tuple[np.ndarray, list[str]]:
    """User-given labels (one per file, in sorted file order) and their class names."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise ImageFolderError(
            "labels must be 'inferred', None, or a 1-D list of integer labels, one per image "
            f"file in sorted path order. Received an array of dtype {values.dtype} and shape "
            f"{values.shape}."
        )
    if len(values) != n_files:
        raise ImageFolderError(
            f"labels has {len(values)} entries but {directory!r} holds {n_files} image files: "
            "give one label per file, in sorted path order."
        )
    return values.astype(np.int32), [str(label) for label in sorted(set(values.tolist()))]


def _encode(labels: np.ndarray, label_mode: str, class_names: list[str]) -> np.ndarray:
    """Keras' label encodings: int32, one-hot float32 (N, K), or float32 (N, 1)."""
    if label_mode == "int":
        return labels
    if label_mode == "binary":
        if len(class_names) != 2:
            raise ImageFolderError(
                f"label_mode='binary' needs exactly 2 classes; found {len(class_names)}: "
                f"{class_names!r}. Use label_mode='int' or 'categorical'."
            )
        return labels.astype(np.float32)[:, None]
    # like tf.one_hot: a label outside [0, n_classes) is an all-zero row
    return (labels[:, None] == np.arange(len(class_names))).astype(np.float32)


def _split(paths: list[str], labels: np.ndarray | None, validation_split: float | None,
           subset: str | None, directory: str) -> tuple[list[str], np.ndarray | None]:
    """Keras' split: the last ``int(validation_split * n)`` files are the validation set."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if n_val == 0 or n_val == len(paths):
        raise ImageFolderError(
            f"validation_split={validation_split} of the {len(paths)} image files in "
            f"{directory!r} leaves {'no' if n_val == 0 else 'every'} file for validation: "
            "choose a split that leaves files in both subsets."
        )
    keep = slice(None, -n_val) if subset == "training" else slice(-n_val, None)
    return paths[keep], None if labels is None else labels[keep]


@validate_params(
    {
        "directory": [str, os.PathLike],
        "labels": [StrOptions({"inferred"}), "array-like", None],
        "label_mode": [StrOptions({"int", "categorical", "binary"}), None],
        "class_names": ["array-like", None],
        "formats": [str, "array-like"],
        "follow_links": ["boolean"],
        "validation_split": [Interval(Real, 0, 1, closed="left"), None],
        "subset": [StrOptions({"training", "validation"}), None],
        "seed": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "shuffle": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def paths_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    *,
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    formats: str | Sequence[str] = KERAS_IMAGE_FORMATS,
    follow_links: bool = False,
    validation_split: float | None = None,
    subset: str | None = None,
    seed: int | None = None,
    shuffle: bool = False,
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """List a folder of images with their labels, as ``image_dataset_from_directory`` does.

    For the same arguments, ``paths`` equals the ``file_paths`` of
    ``keras.utils.image_dataset_from_directory(directory, ...)`` and ``labels`` the labels
    that dataset yields for them (``shuffle=True`` with the same ``seed`` gives the same
    permutation). Only the default differs: ``shuffle=False`` (sorted order), because a
    scikit-learn estimator or ``GridSearchCV`` shuffles its own folds.

    Parameters
    ----------
    directory : str or path-like
        With ``labels="inferred"``, a folder with one sub-folder per class
        (``directory/cat/*.jpg``, ``directory/dog/*.jpg``); sub-folders of a class folder
        belong to that class. Otherwise every image file under ``directory``.
    labels : "inferred", sequence of int or None, default="inferred"
        ``"inferred"``: the class sub-folder of each file. A sequence: one integer label per
        image file, in the sorted path order of ``shuffle=False``. ``None``: no labels;
        every image file under ``directory`` is listed, in any sub-folder.
    label_mode : {"int", "categorical", "binary"} or None, default="int"
        ``"int"``: int32 class indices ``(N,)`` (what scikit-learn heads take);
        ``"categorical"``: one-hot float32 ``(N, n_classes)`` (``categorical_crossentropy``);
        ``"binary"``: float32 ``(N, 1)`` with exactly two classes. ``None``: the same as
        ``labels=None``.
    class_names : sequence of str, optional
        Only with ``labels="inferred"``: the class sub-folders to use (a subset of them) and
        their order, which fixes the label numbers. Default: every sub-folder, sorted.
    formats : str or sequence of str, default=(".bmp", ".gif", ".jpeg", ".jpg", ".png")
        File name endings to keep (case-insensitive). Keras' own list by default; skprep's
        ``ImageLoader`` also reads e.g. ``".webp"``, ``".tif"``, ``".tiff"``.
    follow_links : bool, default=False
        Walk into sub-folders that are symbolic links.
    validation_split : float in [0, 1), optional
        Fraction of the files kept for validation: the last ``int(validation_split * N)``
        files (after shuffling, if any) are the ``"validation"`` subset, the others the
        ``"training"`` subset. Needs ``subset``.
    subset : {"training", "validation"}, optional
        Which side of ``validation_split`` to return. Call twice, with the same ``seed``,
        for both (Keras' ``subset="both"``).
    seed : int, optional
        Seed of the shuffle. Needed with ``shuffle=True`` and ``validation_split``, so that
        both calls see the same permutation.
    shuffle : bool, default=False
        Permute the files (and labels) as Keras does with ``shuffle=True``; without a
        ``seed`` the permutation is random.

    Returns
    -------
    paths : list of str
        ``os.path.join(directory, class folder, ..., file name)`` for each file.
    labels : ndarray or None
        Encoded as ``label_mode`` says; ``None`` with ``labels=None`` or ``label_mode=None``.
    class_names : list of str or None
        The class of each label number: the sub-folder names (``"inferred"``), the sorted
        distinct labels as strings (explicit labels), or ``None`` (no labels).

    Raises
    ------
    ImageFolderNotFoundError
        ``directory`` does not exist or is not a folder.
    ImageFolderError
        No image files (in the subset), ``class_names`` that are not sub-folders, labels
        of the wrong length, ``label_mode="binary"`` without exactly two classes, or
        ``validation_split`` / ``subset`` / ``seed`` combinations Keras refuses (and a split
        that would leave one subset empty, which Keras does not catch).

    See Also
    --------
    ImageLoader : loads the paths into a ``uint8 (N, H, W, C)`` batch.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from skprep import paths_from_directory
    >>> root = tempfile.mkdtemp()
    >>> for name in ["cat/1.jpg", "cat/2.png", "dog/a.JPG", "dog/notes.txt"]:
    ...     os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
    ...     Image.new("RGB", (8, 8)).save(os.path.join(root, name), format="PNG")
    >>> paths, labels, class_names = paths_from_directory(root)
    >>> [os.path.relpath(p, root) for p in paths], labels, class_names
    (['cat/1.jpg', 'cat/2.png', 'dog/a.JPG'], array([0, 0, 1], dtype=int32), ['cat', 'dog'])
    >>> paths_from_directory(root, validation_split=0.34, subset="validation")[1]
    array([1], dtype=int32)
    """
    _check_split(validation_split, subset, shuffle, seed)
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ImageFolderNotFoundError(
            f"{directory!r} is {'a file' if os.path.exists(directory) else 'missing'}, not a "
            "folder: give the folder that holds one sub-folder of images per class."
        )
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    formats = tuple(str(ending).lower() for ending in formats)
    if label_mode is None:  # as Keras: no labels at all, so no classes either
        labels = None
    inferred = isinstance(labels, str)
    class_dirs = _class_dirs(directory, labels, class_names)
    paths, indices = _index(directory, class_dirs, follow_links, formats)
    if inferred:
        class_names = class_dirs
    elif labels is not None:
        indices, class_names = _explicit_labels(labels, len(paths), directory)
    if labels is None:
        indices, class_names = None, None
    if not paths:
        raise ImageFolderError(
            f"no image files in {directory!r} (looked for {', '.join(formats)}, recursively"
            f"{', in the class sub-folders' if inferred else ''}); pass formats= for others."
        )
    if shuffle:
        if seed is None:
            seed = int(np.random.default_rng().integers(1_000_000))
        order = np.arange(len(paths))
        np.random.RandomState(seed).shuffle(order)
        paths = [paths[i] for i in order]
        indices = None if indices is None else indices[order]
    paths, indices = _split(paths, indices, validation_split, subset, directory)
    if indices is None:
        return paths, None, None
    return paths, _encode(indices, label_mode, class_names), class_names
