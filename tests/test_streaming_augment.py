"""StreamingPipeline with a sampler step (ImageAugmenter): imbalanced-learn's rule, streamed.

In fit the sampler's views stream batch by batch (``resample_batch``), y travels with
each batch; transform / predict skip the sampler. Results equal an
``imblearn.pipeline.Pipeline`` with the same steps, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skprep import ImageAugmenter, StreamingPipeline

pytest.importorskip("cv2")

N_VIEWS = 2


@pytest.fixture(scope="module")
def photos(sample_photos) -> np.ndarray:
    """10 real uint8 photos of 24x32 (regions of the two sample photos)."""
    from PIL import Image

    tiles = []
    for photo in sample_photos:
        for top, left, size in ((0, 0, 427), (100, 200, 200), (200, 50, 120),
                                (50, 400, 240), (150, 300, 180)):
            crop = photo[top:top + size, left:left + int(size * 1.4)]
            tiles.append(np.asarray(Image.fromarray(crop).resize((32, 24))))
    return np.stack(tiles)


@pytest.fixture(scope="module")
def labels(photos) -> np.ndarray:
    return np.arange(len(photos)) % 2


def _flatten(X):
    return X.reshape(len(X), -1).astype(np.float32) / 255.0


def _steps(head=None) -> list:
    steps = [
        ("augment", ImageAugmenter(n_views=N_VIEWS, random_state=0)),
        ("flatten", FunctionTransformer(_flatten)),
        ("scale", StandardScaler()),
    ]
    return steps + [("head", head or LogisticRegression(C=10.0, max_iter=300))]


def _imblearn(steps):
    return pytest.importorskip("imblearn.pipeline").Pipeline(steps)


@pytest.mark.parametrize("batch_size", [3, 4, 100])  # streamed (3, 4) and not (100)
def test_fit_equals_imblearn_pipeline_bit_for_bit(photos, labels, batch_size):
    ours = StreamingPipeline(_steps(), batch_size=batch_size, prefetch=1).fit(photos, labels)
    ref = _imblearn(_steps()).fit(photos, labels)
    np.testing.assert_array_equal(ours.named_steps["scale"].mean_,
                                  ref.named_steps["scale"].mean_)
    assert ours.named_steps["scale"].n_samples_seen_ == (N_VIEWS + 1) * len(photos)
    np.testing.assert_array_equal(ours.named_steps["head"].coef_,
                                  ref.named_steps["head"].coef_)
    np.testing.assert_array_equal(ours.predict(photos), ref.predict(photos))
    np.testing.assert_array_equal(ours.predict_proba(photos), ref.predict_proba(photos))
    np.testing.assert_array_equal(ours.decision_function(photos),
                                  ref.decision_function(photos))
    assert ours.score(photos, labels) == ref.score(photos, labels)


def test_fit_transform_equals_imblearn(photos, labels):
    steps = _steps()[:-1]
    ours = StreamingPipeline(steps, batch_size=4).fit_transform(photos, labels)
    ref = _imblearn(_steps()[:-1]).fit_transform(photos, labels)
    assert ours.shape[0] == (N_VIEWS + 1) * len(photos)
    np.testing.assert_array_equal(ours, ref)


def test_predict_and_transform_skip_the_sampler(photos, labels):
    pipe = StreamingPipeline(_steps(), batch_size=3).fit(photos, labels)
    features = pipe.named_steps["scale"].transform(_flatten(photos))
    np.testing.assert_array_equal(pipe.predict(photos),
                                  pipe.named_steps["head"].predict(features))
    np.testing.assert_array_equal(pipe[:-1].transform(photos), features)
    batches = list(pipe[:-1].iter_transform(photos))
    assert [start for start, _ in batches] == [0, 3, 6, 9]
    np.testing.assert_array_equal(np.concatenate([rows for _, rows in batches]), features)


def test_fit_streams_the_views_batch_by_batch(photos, labels):
    seen: list[int] = []

    def record(X):
        seen.append(len(X))
        return _flatten(X)

    steps = _steps()
    steps[1] = ("flatten", FunctionTransformer(record))
    StreamingPipeline(steps, batch_size=3).fit(photos, labels)
    # the views are made and flattened per batch of 3 images: never all 30 rows at once
    assert seen == [9, 9, 9, 3]


def test_reproducible_across_batch_sizes(photos, labels):
    coefs = [StreamingPipeline(_steps(), batch_size=size, prefetch=prefetch)
             .fit(photos, labels).named_steps["head"].coef_
             for size, prefetch in ((1, 0), (3, 2), (7, 1), (10, 2))]
    for coef in coefs[1:]:
        np.testing.assert_array_equal(coef, coefs[0])


def test_y_travels_with_the_views(photos):
    from sklearn.neighbors import KNeighborsClassifier

    y = np.arange(len(photos))
    pipe = StreamingPipeline(_steps(KNeighborsClassifier(n_neighbors=1)), batch_size=4)
    pipe.fit(photos, y)
    assert pipe.named_steps["head"].n_samples_fit_ == (N_VIEWS + 1) * len(photos)
    # 1-NN on its own training rows: each view was fitted with its image's label
    views, y_views = ImageAugmenter(n_views=N_VIEWS, random_state=0).fit_resample(photos, y)
    np.testing.assert_array_equal(y_views, np.repeat(y, N_VIEWS + 1))
    features = pipe.named_steps["scale"].transform(_flatten(views))
    np.testing.assert_array_equal(pipe.named_steps["head"].predict(features), y_views)
    np.testing.assert_array_equal(pipe.predict(photos), y)


def test_a_step_that_is_neither_transformer_nor_sampler_is_refused(photos, labels):
    steps = _steps()
    steps.insert(1, ("bad", LogisticRegression()))
    with pytest.raises(TypeError, match="'bad'"):
        StreamingPipeline(steps, batch_size=3).fit(photos, labels)
