"""paths_from_directory against keras.utils.image_dataset_from_directory on the same folder."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

from skprep import ImageLoader, paths_from_directory
from skprep.exceptions import ImageFolderError, ImageFolderNotFoundError, SkprepError

# relative path -> written as a 3x3 PNG of a colour unique to the file (whatever the name's
# extension: decoders sniff the content), so an image from Keras' dataset names its file
FILES = [
    "b_dogs/d1.png", "b_dogs/d0.PNG", "b_dogs/sub/z.jpg", "b_dogs/sub/a.gif.png",
    "b_dogs/notes.txt", "b_dogs/sub2/y.jpeg",
    "a_cats/c2.png", "a_cats/c10.png", "a_cats/c1.jpeg", "a_cats/c1.JPG",
    "C_upper/x.png", "C_upper/x.webp",
    ".hidden/h.png", "top.png",
    "a_cats/linked/o1.png",  # a_cats/linked is a symlink to a folder outside the tree
]


def _colour(index: int) -> tuple[int, int, int]:
    return (10 * index + 5, 250 - 10 * index, 77)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("folder") / "data"
    (root / "a_cats").mkdir(parents=True)
    (root.parent / "outside").mkdir()
    os.symlink(root.parent / "outside", root / "a_cats" / "linked")
    for index, name in enumerate(FILES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (3, 3), _colour(index)).save(path, format="PNG")
    (root / "empty_class").mkdir()
    return str(root)


@pytest.fixture(scope="module")
def colour_to_file(tree):
    return {_colour(i): os.path.join(tree, name) for i, name in enumerate(FILES)}


def _keras_dataset(keras, directory, **kwargs):
    """Keras' dataset, its file_paths and class_names, and (file, label) for each element."""
    shuffle = kwargs.pop("shuffle", False)
    ds = keras.utils.image_dataset_from_directory(
        directory, image_size=(3, 3), batch_size=None, shuffle=shuffle, verbose=False,
        **kwargs,
    )
    return ds


def _elements(ds, colour_to_file, tree):
    """(file under tree, label or None) for every element Keras yields, in its order."""
    out = []
    for element in ds.as_numpy_iterator():
        image, label = element if isinstance(element, tuple) else (element, None)
        colour = tuple(int(v) for v in np.asarray(image)[0, 0])
        assert np.all(np.asarray(image) == np.asarray(colour, dtype=np.float32))
        name = colour_to_file[colour]
        out.append((os.path.relpath(name, tree), label))
    return out


CASES = [
    {},
    {"shuffle": True, "seed": 42},
    {"shuffle": True, "seed": 7, "label_mode": "categorical"},
    {"class_names": ["b_dogs", "a_cats"]},
    {"class_names": ["C_upper", "a_cats"], "label_mode": "binary"},
    {"label_mode": "categorical"},
    {"validation_split": 0.3, "subset": "training"},
    {"validation_split": 0.3, "subset": "validation"},
    {"validation_split": 0.25, "subset": "training", "shuffle": True, "seed": 3},
    {"validation_split": 0.25, "subset": "validation", "shuffle": True, "seed": 3},
    {"labels": None},
    {"label_mode": None, "shuffle": True, "seed": 11},
    {"follow_links": True},
    {"follow_links": True, "shuffle": True, "seed": 5, "validation_split": 0.5,
     "subset": "validation", "label_mode": "categorical"},
]


@pytest.mark.keras
@pytest.mark.parametrize("kwargs", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in
                                                                     kw.items()) or "default")
def test_same_files_order_labels_and_split_as_keras(keras, tree, colour_to_file, kwargs):
    ds = _keras_dataset(keras, tree, **dict(kwargs))
    paths, labels, class_names = paths_from_directory(tree, **kwargs)

    assert paths == ds.file_paths
    assert class_names == ds.class_names
    elements = _elements(ds, colour_to_file, tree)
    assert sorted(name for name, _ in elements) == sorted(os.path.relpath(p, tree)
                                                          for p in paths)
    if labels is None:
        assert all(label is None for _, label in elements)
        return
    ours = {os.path.relpath(p, tree): row for p, row in zip(paths, labels, strict=True)}
    for name, label in elements:  # every (image, label) pair Keras yields, any order
        np.testing.assert_array_equal(ours[name], label)
        assert ours[name].dtype == label.dtype
    if not kwargs.get("shuffle"):  # Keras' dataset keeps file order: labels in order too
        np.testing.assert_array_equal(labels, np.stack([label for _, label in elements]))


@pytest.mark.keras
@pytest.mark.parametrize("trailing", ["", os.sep])
def test_explicit_labels_and_directory_spelling_as_keras(keras, tree, colour_to_file,
                                                         trailing):
    n_files = len(paths_from_directory(tree, labels=None)[0])
    given = [(7 * i) % 3 for i in range(n_files)]
    directory = tree + trailing
    ds = _keras_dataset(keras, directory, labels=list(given), label_mode="categorical")
    paths, labels, class_names = paths_from_directory(directory, labels=given,
                                                      label_mode="categorical")
    assert paths == ds.file_paths
    assert class_names == ds.class_names == ["0", "1", "2"]
    np.testing.assert_array_equal(
        labels, np.stack([label for _, label in _elements(ds, colour_to_file, tree)]))
    assert given == [(7 * i) % 3 for i in range(n_files)]  # the caller's list is untouched


def test_sorted_order_and_int_labels_exactly(tree):
    paths, labels, class_names = paths_from_directory(tree)
    assert class_names == ["C_upper", "a_cats", "b_dogs", "empty_class"]
    assert [os.path.relpath(p, tree) for p in paths] == [
        "C_upper/x.png",
        "a_cats/c1.JPG", "a_cats/c1.jpeg", "a_cats/c10.png", "a_cats/c2.png",
        "b_dogs/d0.PNG", "b_dogs/d1.png", "b_dogs/sub/a.gif.png", "b_dogs/sub/z.jpg",
        "b_dogs/sub2/y.jpeg",
    ]
    assert labels.dtype == np.int32
    assert labels.tolist() == [0, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    webp = paths_from_directory(tree, formats=[".WEBP"], class_names=["C_upper"])[0]
    assert [os.path.relpath(p, tree) for p in webp] == ["C_upper/x.webp"]
    assert paths_from_directory(tree, formats=".webp")[1].tolist() == [0]


def test_training_and_validation_partition_the_files(tree):
    common = {"validation_split": 0.2, "shuffle": True, "seed": 123}
    train, y_train, _ = paths_from_directory(tree, subset="training", **common)
    val, y_val, _ = paths_from_directory(tree, subset="validation", **common)
    every, y_every, _ = paths_from_directory(tree, shuffle=True, seed=123)
    assert len(val) == int(0.2 * len(every)) == 2
    assert train + val == every
    assert np.concatenate([y_train, y_val]).tolist() == y_every.tolist()
    assert sorted(every) == sorted(paths_from_directory(tree)[0])
    assert every != paths_from_directory(tree)[0]  # seed 123 does permute 10 files


def test_the_paths_feed_image_loader(tree):
    paths, labels, _ = paths_from_directory(tree, class_names=["a_cats"])
    batch = ImageLoader(target_size=None).transform(paths)
    assert batch.shape == (4, 3, 3, 3)
    expected = [_colour(FILES.index(os.path.relpath(p, tree))) for p in paths]
    assert batch[:, 1, 1].tolist() == [list(c) for c in expected]
    assert labels.tolist() == [0, 0, 0, 0]


def test_pathlike_directory(tree):
    from pathlib import Path

    paths, labels, names = paths_from_directory(Path(tree))
    ref_paths, ref_labels, ref_names = paths_from_directory(tree)
    assert paths == ref_paths and names == ref_names
    np.testing.assert_array_equal(labels, ref_labels)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"class_names": ["a_cats", "zebras"]}, ImageFolderError, r"\['zebras'\]"),
        ({"labels": [0, 1]}, ImageFolderError, "labels has 2 entries but .* holds 12 image files"),
        ({"labels": ["x"] * 12}, ImageFolderError, "integer labels"),
        ({"labels": None, "class_names": ["a_cats"]}, ImageFolderError, "class_names"),
        ({"label_mode": "binary"}, ImageFolderError, "exactly 2 classes; found 4"),
        ({"validation_split": 0.2}, ImageFolderError, "go together"),
        ({"subset": "training"}, ImageFolderError, "go together"),
        ({"validation_split": 0.2, "subset": "training", "shuffle": True},
         ImageFolderError, "needs a seed"),
        ({"validation_split": 0.05, "subset": "training"}, ImageFolderError,
         "leaves no file for validation"),
        ({"formats": (".tga",)}, ImageFolderError, r"no image files .*\.tga"),
        ({"class_names": ["empty_class"]}, ImageFolderError, "no image files"),
    ],
)
def test_bad_arguments_raise_clear_errors(tree, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        paths_from_directory(tree, **kwargs)
    assert isinstance(info.value, SkprepError) and isinstance(info.value, ValueError)


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs",
    [
        {"class_names": ["a_cats", "zebras"]},
        {"labels": [0, 1]},
        {"label_mode": "binary"},
        {"validation_split": 0.2},
        {"validation_split": 0.2, "subset": "training", "shuffle": True},
        {"formats": (".tga",)},
    ],
)
def test_keras_refuses_the_same_arguments(keras, tree, kwargs):
    kwargs = dict(kwargs)
    formats = kwargs.pop("formats", None)
    shuffle = kwargs.pop("shuffle", False)
    directory = tree
    if formats:  # Keras' formats are fixed: an empty folder is its "no images" case
        directory = os.path.join(tree, "empty_class")
        kwargs["labels"] = None
    with pytest.raises(ValueError):
        keras.utils.image_dataset_from_directory(directory, image_size=(3, 3),
                                                 shuffle=shuffle, verbose=False, **kwargs)


def test_missing_folder_and_file_are_not_folders(tree):
    with pytest.raises(ImageFolderNotFoundError, match="missing, not a folder") as info:
        paths_from_directory(os.path.join(tree, "nope"))
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(ImageFolderNotFoundError, match="is a file, not a folder"):
        paths_from_directory(os.path.join(tree, "top.png"))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"subset": "both", "validation_split": 0.2}, "subset"),
     ({"validation_split": 1.0, "subset": "training"}, "validation_split"),
     ({"label_mode": "sparse"}, "label_mode"),
     ({"seed": -1}, "seed")],
)
def test_bad_parameter_values_name_the_parameter(tree, kwargs, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of "
                       "paths_from_directory"):
        paths_from_directory(tree, **kwargs)


def test_random_shuffle_without_seed_keeps_pairs(tree):
    paths, labels, names = paths_from_directory(tree, shuffle=True)
    for path, label in zip(paths, labels, strict=True):
        assert os.path.relpath(path, tree).split(os.sep)[0] == names[label]


def test_image_loader_given_a_folder_points_to_paths_from_directory(tree):
    from skprep.exceptions import ImageNotFoundError

    for X in (tree, [os.path.join(tree, "top.png"), os.path.join(tree, "a_cats")]):
        with pytest.raises(ImageNotFoundError, match=r"skprep\.paths_from_directory\(folder\)"):
            ImageLoader(target_size=None).transform(X)


def test_the_command_line_lists_folders_with_paths_from_directory(tree):
    from skprep.cli import IMAGE_EXTENSIONS, collect_images

    top = os.path.join(tree, "top.png")
    listed = collect_images([top, os.path.join(tree, "b_dogs"), top])
    assert listed == [top, *paths_from_directory(os.path.join(tree, "b_dogs"), labels=None,
                                                 formats=IMAGE_EXTENSIONS)[0], top]
    every = collect_images([tree])
    assert every == paths_from_directory(tree, labels=None, formats=IMAGE_EXTENSIONS)[0]
    assert os.path.join(tree, "C_upper", "x.webp") in every  # the CLI's wider formats


def test_bad_arguments_are_skprep_errors(tmp_path):
    """The error promise holds for the function's parameter checks too."""
    from sklearn.utils._param_validation import InvalidParameterError as SklearnError

    from skprep.exceptions import InvalidParameterError, SkprepError

    with pytest.raises(InvalidParameterError, match="'label_mode' parameter") as info:
        paths_from_directory(tmp_path, label_mode="one_hot")
    assert isinstance(info.value, SkprepError) and isinstance(info.value, SklearnError)
    assert isinstance(info.value, ValueError)
