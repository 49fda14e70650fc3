"""ComBat: reference implementation, closed form, planted centre effects in held-out data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from radsig.exceptions import StatisticsError
from radsig.harmonize import ComBat

SHIFT = {"A": 0.0, "B": 1.5, "C": -1.0, "D": 3.0}
SCALE = {"A": 1.0, "B": 2.0, "C": 0.5, "D": 1.5}


def planted(n_per=40, p=30, centres=("A", "B", "C"), seed=0):
    """Features = biology (sex, age, a binary outcome) + a centre shift and scale."""
    rng = np.random.default_rng(seed)
    site = np.repeat(centres, n_per)
    n = len(site)
    sex = rng.choice(["f", "m"], n)
    age = rng.normal(60, 10, n)
    label = rng.integers(0, 2, n)
    bio = rng.normal(size=(n, p)) + 0.5 * (sex == "m")[:, None] + 0.02 * age[:, None]
    bio[:, :5] += 1.0 * label[:, None]
    scale = np.array([SCALE[s] for s in site])[:, None]
    shift = np.array([SHIFT[s] for s in site])[:, None]
    df = pd.DataFrame(bio * scale + shift, columns=[f"f{i}" for i in range(p)])
    df["site"], df["sex"], df["age"] = site, sex, age
    return df, label


def centre_spread(values: np.ndarray, site: np.ndarray) -> float:
    """Largest absolute difference between centre means, averaged over features."""
    means = np.array([values[site == s].mean(axis=0) for s in np.unique(site)])
    return float((means.max(axis=0) - means.min(axis=0)).mean())


@pytest.mark.parametrize("parametric,atol", [(True, 1e-4), (False, 1e-5)])
def test_combat_against_neurocombat(parametric, atol):
    """Same data through neuroCombat 0.2.12 (fit and apply on all rows, its only mode).

    The parametric EB loop converges to the same fixed point; neuroCombat's stopping rule
    divides by signed estimates, so it can stop a little earlier (differences ~1e-5).
    """
    import neuroCombat as nc
    df, _ = planted(n_per=30)
    feats = [c for c in df.columns if c.startswith("f")]
    ref = nc.neuroCombat(dat=df[feats].to_numpy().T, covars=df[["site", "sex", "age"]],
                         batch_col="site", categorical_cols=["sex"], continuous_cols=["age"],
                         parametric=parametric)["data"].T
    ours = ComBat(batch="site", categorical=["sex"], continuous=["age"],
                  parametric=parametric).fit_transform(df)
    np.testing.assert_allclose(ours, ref, atol=atol)


def test_reference_batch_combat_closed_form():
    """ref_batch without EB: the reference centre is unchanged; every other centre is
    standardised (ddof=1) and mapped onto the reference mean and SD (ddof=0).

    (neuroCombat 0.2.12's own ref_batch path fails on NumPy >= 1.24, np.int, so the reference
    here is the closed form.)"""
    df, _ = planted(n_per=25, p=6, seed=7)
    feats = [c for c in df.columns if c.startswith("f")]
    Y, site = df[feats].to_numpy(), df["site"].to_numpy()
    ref = Y[site == "A"]
    expected = np.vstack([ref] + [(Y[site == s] - Y[site == s].mean(0)) / Y[site == s].std(
        0, ddof=1) * ref.std(0) + ref.mean(0) for s in ("B", "C")])
    got = ComBat(batch="site", eb=False, ref_batch="A").fit_transform(df[[*feats, "site"]])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    eb = ComBat(batch="site", categorical=["sex"], continuous=["age"], ref_batch="A")
    out = eb.fit_transform(df)
    np.testing.assert_allclose(out[site == "A"], ref, atol=1e-10)
    assert centre_spread(out, site) < 0.3 * centre_spread(Y, site)
    with pytest.raises(StatisticsError, match="ref_batch 'Z' is not a training batch"):
        ComBat(batch="site", ref_batch="Z").fit(df[[*feats, "site"]])


def test_combat_without_eb_equals_closed_form():
    """No EB, no covariates: each centre is standardised (ddof=1), then rescaled to the pooled
    residual SD (ddof=0) and the grand mean."""
    df, _ = planted(n_per=20, p=8)
    feats = [c for c in df.columns if c.startswith("f")]
    Y, site = df[feats].to_numpy(), df["site"].to_numpy()
    means = {s: Y[site == s].mean(0) for s in np.unique(site)}
    resid = Y - np.array([means[s] for s in site])
    pooled_sd = np.sqrt((resid**2).mean(0))
    expected = np.vstack([(Y[site == s] - means[s]) / Y[site == s].std(0, ddof=1)
                          for s in np.unique(site)]) * pooled_sd + Y.mean(0)
    got = ComBat(batch="site", eb=False).fit_transform(df[[*feats, "site"]])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_training_fitted_combat_removes_planted_effects_in_held_out_rows():
    df, label = planted(n_per=60, seed=1)
    rng = np.random.default_rng(2)
    test = rng.random(len(df)) < 0.4
    train_df, test_df = df[~test], df[test]
    feats = [c for c in df.columns if c.startswith("f")]
    model = ComBat(batch="site", categorical=["sex"], continuous=["age"]).fit(train_df)
    out = model.transform(test_df)
    site = test_df["site"].to_numpy()
    before = centre_spread(test_df[feats].to_numpy(), site)
    after = centre_spread(out, site)
    assert before > 2.0 and after < 0.35 * before
    sds = np.array([out[site == s].std(0).mean() for s in np.unique(site)])
    assert sds.max() / sds.min() < 1.5  # raw ratio is 2.0 / 0.5 = 4
    # the protected biology survives: outcome effect on f0..f4 in held-out rows
    y = label[test]
    effect = out[y == 1, :5].mean() - out[y == 0, :5].mean()
    assert 0.5 < effect < 1.8


def test_unseen_centre_options():
    df, _ = planted(n_per=40, seed=3)
    new, _ = planted(n_per=25, centres=("D",), seed=4)
    feats = [c for c in df.columns if c.startswith("f")]
    model = ComBat(batch="site", categorical=["sex"], continuous=["age"]).fit(df)
    with pytest.raises(StatisticsError, match="batch 'D' was not seen in training"):
        model.transform(new)
    pooled = clone(model).set_params(unseen="pooled").fit(df).transform(new)
    np.testing.assert_allclose(pooled, new[feats].to_numpy(), atol=1e-10)  # left as is
    adapted = clone(model).set_params(unseen="adapt").fit(df).transform(new)
    train_mean = model.transform(df).mean()
    assert abs(new[feats].to_numpy().mean() - train_mean) > 2.5
    assert abs(adapted.mean() - train_mean) < 0.3
    with pytest.raises(StatisticsError, match="needs >= 2 rows of batch 'D'"):
        clone(model).set_params(unseen="adapt").fit(df).transform(new.iloc[:1])


def test_combat_contract_and_errors():
    df, _ = planted(n_per=10, p=4)
    m = ComBat(batch="site")
    assert clone(m).get_params() == m.get_params()
    assert list(m.fit(df.drop(columns=["sex", "age"])).get_feature_names_out()) == \
        ["f0", "f1", "f2", "f3"]
    with pytest.raises(StatisticsError, match=r"column\(s\) \['centre'\] not found"):
        ComBat(batch="centre").fit(df)
    bad = df.drop(columns=["sex", "age"]).copy()
    bad.loc[0, "f0"] = np.nan
    with pytest.raises(StatisticsError, match="NaN"):
        ComBat(batch="site").fit(bad)


def test_combat_inside_pipeline_cv_and_model_file(tmp_path):
    from sklearn.pipeline import Pipeline

    from radsig.models import RadScore, cross_validate_model, load_model, save_model

    df, label = planted(n_per=40, p=12, seed=5)
    pipe = Pipeline([("combat", ComBat(batch="site", categorical=["sex"], continuous=["age"])),
                     ("radscore", RadScore(cv=3, n_lambdas=8, random_state=0))])
    res = cross_validate_model(pipe, df, label, cv=3)  # ComBat refitted in every fold
    assert res.ci_low <= res.estimate <= res.ci_high and res.estimate > 0.6
    model = pipe.fit(df, label)
    again = load_model(save_model(model, tmp_path / "combat.json"))
    np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))
    np.testing.assert_array_equal(again[0].gamma_star_, model[0].gamma_star_)
