"""scikit-learn's estimator checks on the estimators that accept 2-D numeric input."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skprep import DatasetStatsStandardizer, KerasModeNormalizer

# check name -> reason, per estimator class
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "KerasModeNormalizer": {},
    "DatasetStatsStandardizer": {},
}

ESTIMATORS = [
    # "tf" and "none" accept any number of columns; caffe/torch need exactly 3 (RGB)
    KerasModeNormalizer("tf", check_input_range=False),
    KerasModeNormalizer("none", check_input_range=False),
    DatasetStatsStandardizer(),
    DatasetStatsStandardizer(with_mean=False, input_scale=1 / 255),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS[type(est).__name__],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("mode", ["caffe", "torch"])
def test_rgb_modes_on_three_columns(mode):
    """caffe/torch need 3 channels, so sklearn's random-width checks cannot run on them."""
    import numpy as np
    from sklearn.base import clone

    x = np.random.default_rng(0).uniform(0, 255, size=(20, 3))
    est = KerasModeNormalizer(mode).fit(x)
    np.testing.assert_allclose(clone(est).fit(x).transform(x), est.transform(x))
    assert est.n_features_in_ == 3
