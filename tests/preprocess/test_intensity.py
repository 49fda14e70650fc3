"""Re-segmentation and discretisation against the IBSI definitions."""

from __future__ import annotations

import numpy as np

from radsig.preprocess.intensity import (
    discretise,
    fixed_bin_number,
    fixed_bin_size,
    ivh_values,
    resegment,
)


def test_range_resegmentation_is_closed_and_leaves_morph_mask():
    image = np.array([[[-600.0, -500.0, 0.0, 400.0, 401.0]]])
    morph = np.ones(image.shape, bool)
    out = resegment(image, morph, [-500, 400])
    assert out.tolist() == [[[False, True, True, True, False]]]
    assert morph.all()


def test_outlier_filter_uses_mean_and_population_sd():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1, 1000), [50.0]])
    image = values.reshape(1, 1, -1)
    out = resegment(image, np.ones(image.shape, bool), None, 3.0)
    mu, sd = values.mean(), values.std()
    np.testing.assert_array_equal(out.ravel(), np.abs(values - mu) <= 3 * sd)
    assert not out.ravel()[-1]


def test_fixed_bin_size_starts_at_the_range_lower_bound():
    levels = fixed_bin_size(np.array([-500.0, -476.0, -475.0, 0.0, 400.0]), 25.0, -500.0)
    assert levels.tolist() == [1, 1, 2, 21, 37]


def test_fixed_bin_number_puts_the_maximum_in_the_last_bin():
    levels = fixed_bin_number(np.array([0.0, 0.5, 1.0, 9.99, 10.0]), 10)
    assert levels.tolist() == [1, 1, 2, 10, 10]
    assert fixed_bin_number(np.array([3.0, 3.0]), 32).tolist() == [1, 1]


def test_discretise_none_keeps_integer_levels():
    levels, n = discretise(np.array([1.0, 3.0, 6.0]), "none")
    assert levels.tolist() == [1, 3, 6] and n == 6


def test_ivh_continuous_case_uses_bin_centres():
    data = ivh_values(np.array([-1000.0, -998.0, 399.0]), "fbs", value_range=[-1000, 400],
                      bin_width=2.5)
    np.testing.assert_allclose(data["values"], [-998.75, -998.75, 398.75])
    assert (data["low"], data["high"], data["width"]) == (-998.75, 398.75, 2.5)
