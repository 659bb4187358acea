"""scikit-learn's output configuration (issue 13, item 6): ``set_config(transform_output=...)``
and ``set_output`` on every step and on pipelines. Image batches pass through unchanged;
2-D outputs become pandas / polars frames named by ``get_feature_names_out``."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skprep import (
    DatasetStatsStandardizer,
    ImageLoader,
    KerasModeNormalizer,
    SequencePadder,
    TextVectorizer,
    make_image_pipeline,
)
from skprep.exceptions import InvalidParameterError

pd = pytest.importorskip("pandas")
FRAMES = ["pandas", pytest.param("polars", marks=pytest.mark.skipif(
    not __import__("importlib.util").util.find_spec("polars"), reason="polars not installed"))]
DOCS = ["The cat sat on the mat.", "A dog, a cat!", "the end"]
TABLE = np.random.default_rng(0).uniform(0, 255, (6, 3))


def _frame_type(kind):
    if kind == "pandas":
        return pd.DataFrame
    import polars

    return polars.DataFrame


def _values(frame) -> np.ndarray:
    return frame.to_numpy()


@pytest.mark.parametrize("kind", FRAMES)
def test_global_config_on_2d_steps_follows_sklearn(kind):
    """2-D output: the same frame that scikit-learn's own StandardScaler gives."""
    columns = ["r", "g", "b"]
    table = pd.DataFrame(TABLE, columns=columns)
    with sklearn.config_context(transform_output=kind):
        ours = DatasetStatsStandardizer().fit_transform(table)
        theirs = StandardScaler().fit_transform(table)
        normalized = KerasModeNormalizer("caffe").fit(table).transform(table)
    assert isinstance(ours, _frame_type(kind)) and isinstance(normalized, _frame_type(kind))
    assert list(ours.columns) == list(theirs.columns) == columns
    np.testing.assert_allclose(_values(ours), _values(theirs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_values(normalized),
                               KerasModeNormalizer("caffe").fit_transform(TABLE), rtol=1e-6)
    assert list(normalized.columns) == columns


@pytest.mark.parametrize("kind", FRAMES)
def test_text_steps_name_their_columns(kind):
    with sklearn.config_context(transform_output=kind):
        bag = TextVectorizer(output_mode="multi_hot", sparse=False).fit(DOCS)
        frame = bag.transform(DOCS)
        padded = SequencePadder(maxlen=4).fit_transform([[1, 2], [3, 4, 5, 6, 7]])
        with pytest.raises(InvalidParameterError, match="sparse=False"):
            TextVectorizer(output_mode="count").fit_transform(DOCS)
    assert isinstance(frame, _frame_type(kind)) and isinstance(padded, _frame_type(kind))
    assert list(frame.columns) == list(bag.vocabulary_)
    np.testing.assert_array_equal(
        _values(frame), TextVectorizer(output_mode="multi_hot", sparse=False).fit_transform(DOCS))
    assert list(padded.columns) == [f"sequencepadder{i}" for i in range(4)]


@pytest.mark.parametrize("kind", FRAMES)
def test_image_batches_pass_through_unchanged(kind, photo_files):
    images = ImageLoader(target_size=(16, 16)).fit_transform(photo_files["png"][:2])
    steps = [ImageLoader(target_size=(16, 16)), KerasModeNormalizer("torch"),
             DatasetStatsStandardizer()]
    with sklearn.config_context(transform_output=kind):
        out = steps[0].fit_transform(photo_files["png"][:2])
        normalized = steps[1].fit_transform(out)
        standardized = steps[2].fit_transform(normalized)
    np.testing.assert_array_equal(out, images)
    assert isinstance(normalized, np.ndarray) and normalized.shape == (2, 16, 16, 3)
    assert isinstance(standardized, np.ndarray) and standardized.shape == (2, 16, 16, 3)
    for step in steps:  # set_output is available on every step, and returns the step
        assert step.set_output(transform=kind) is step
    assert isinstance(steps[2].transform(normalized), np.ndarray)
    assert [step.get_feature_names_out() for step in steps] == [None, None, None]


@pytest.fixture(scope="module")
def image_pipeline(photo_files):
    pytest.importorskip("keras")
    files = photo_files["jpeg"] + photo_files["png"]
    y = np.arange(len(files)) % 2
    pipe = make_image_pipeline("mobilenet_v2", LogisticRegression(max_iter=200), weights=None,
                               input_size=32, extractor__random_state=0)
    return pipe.fit(files, y), files, y


@pytest.mark.keras
@pytest.mark.parametrize("kind", FRAMES)
def test_image_pipeline_under_the_global_config_and_set_output(kind, image_pipeline):
    pipe, files, y = image_pipeline
    plain = pipe.predict_proba(files)
    features = pipe[:-1].transform(files)
    names = pipe[:-1].get_feature_names_out()
    assert names[0] == "mobilenetv2_global_average_pooling2d_0" and len(names) == 1280
    with sklearn.config_context(transform_output=kind):
        refit = clone(pipe).fit(files, y)  # every step's fit_transform under the config
        frame = refit[:-1].transform(files)
        assert isinstance(frame, _frame_type(kind))
        assert list(frame.columns) == list(names)
        np.testing.assert_array_equal(_values(frame), features)  # random_state: same net
        np.testing.assert_allclose(refit.predict_proba(files), plain, atol=1e-6)
    refit.set_output(transform=kind)
    frame = refit[:-1].transform(files)
    assert isinstance(frame, _frame_type(kind)) and list(frame.columns) == list(names)


def test_set_output_on_a_pipeline_of_skprep_and_sklearn_steps():
    pipe = make_pipeline(DatasetStatsStandardizer(), StandardScaler()).set_output(
        transform="pandas")
    out = pipe.fit_transform(pd.DataFrame(TABLE, columns=["x", "y", "z"]))
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x", "y", "z"]
