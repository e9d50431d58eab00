"""Drift statistics on constructed distributions whose answers are known in closed form."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from monitoring import stats

RNG = np.random.default_rng(0)
N = 200_000


def test_psi_of_identical_samples_is_near_zero_and_of_a_shift_matches_theory():
    a, b = RNG.normal(0, 1, N), RNG.normal(0, 1, N)
    assert stats.psi(a, b) < 0.001
    # PSI is the symmetrised KL divergence; for N(0,1) vs N(mu,1) that is mu^2 (fine bins approach it).
    for mu in (0.3, 0.5, 1.0):
        shifted = RNG.normal(mu, 1, N)
        assert stats.psi(a, shifted, bins=100) == pytest.approx(mu * mu, rel=0.06)
    assert stats.psi(a, RNG.normal(0.5, 1, N)) > 0.2  # 10 bins lose a little, still a clear "major" shift


def test_psi_from_counts_by_hand_and_empty_bins_stay_finite():
    r, c = np.array([50, 50]), np.array([80, 20])
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert stats.psi_from_counts(r, c) == pytest.approx(expected)
    assert math.isfinite(stats.psi_from_counts([10, 0], [5, 5]))
    with pytest.raises(ValueError):
        stats.psi_from_counts([0, 0], [1, 1])


def test_ks_statistic_matches_scipy_and_the_known_gaussian_shift():
    a, b = RNG.normal(0, 1, 5000), RNG.normal(0.5, 1, 7000)
    assert stats.ks_statistic(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)
    # For N(0,1) vs N(mu,1) the CDFs differ most at mu/2: D = 2*Phi(mu/2) - 1.
    big_a, big_b = RNG.normal(0, 1, N), RNG.normal(0.5, 1, N)
    assert stats.ks_statistic(big_a, big_b) == pytest.approx(2 * sps.norm.cdf(0.25) - 1, abs=0.01)
    assert stats.ks_statistic([1, 2, 3], [1, 2, 3]) == 0
    assert stats.ks_statistic([1, 2], [3, 4]) == 1


def test_js_divergence_known_values():
    assert stats.js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint: 1 bit
    assert stats.js_divergence([3, 3, 4], [30, 30, 40]) == pytest.approx(0.0, abs=1e-12)
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    m = (p + q) / 2
    kl = lambda x, y: float(np.sum(x * np.log2(x / y)))  # noqa: E731
    assert stats.js_divergence(p, q) == pytest.approx((kl(p, m) + kl(q, m)) / 2)
    assert stats.js_divergence([1, 2], [2, 1]) == pytest.approx(stats.js_divergence([2, 1], [1, 2]))


def test_mmd_matches_the_closed_form_for_gaussians_and_detects_only_real_shifts():
    # 1-D N(0,1) vs N(mu,1), kernel exp(-d^2 / 2s^2): MMD^2 = 2 s / sqrt(s^2 + 2) * (1 - exp(-mu^2 / 2(s^2 + 2))).
    s, mu = 1.0, 1.0
    theory = 2 * s / math.sqrt(s * s + 2) * (1 - math.exp(-mu * mu / (2 * (s * s + 2))))
    # The unbiased estimate has sd ~0.015 at n=3000; the mean of 4 independent draws is within 0.01.
    draws = [stats.mmd2_rbf(g.normal(0, 1, 3000), g.normal(mu, 1, 3000), sigma=s, permutations=1)["mmd2"]
             for g in (np.random.default_rng(k) for k in range(4))]
    assert np.mean(draws) == pytest.approx(theory, abs=0.01)
    same = stats.mmd2_rbf(RNG.normal(size=(300, 8)), RNG.normal(size=(300, 8)), permutations=200)
    assert abs(same["mmd2"]) < 0.01 and same["p_value"] > 0.05
    moved = stats.mmd2_rbf(RNG.normal(size=(300, 8)), RNG.normal(0.5, 1, size=(300, 8)), permutations=200)
    assert moved["p_value"] < 0.01 and moved["mmd2"] > 0.05


def test_roc_auc_matches_the_mann_whitney_definition_with_ties():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    pairs = [(i, j) for i in np.flatnonzero(y == 1) for j in np.flatnonzero(y == 0)]
    brute = sum(1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0 for i, j in pairs) / len(pairs)
    assert stats.roc_auc(y, s) == pytest.approx(brute)


def test_domain_classifier_auc_is_half_without_drift_and_phi_of_the_shift_with_it():
    assert stats.domain_auc(RNG.normal(size=(2000, 4)), RNG.normal(size=(2000, 4))) == pytest.approx(0.5, abs=0.04)
    # The best classifier for N(0,1) vs N(1,1) has AUC = Phi(mu / sqrt 2) = 0.760.
    auc = stats.domain_auc(RNG.normal(0, 1, (4000, 1)), RNG.normal(1, 1, (4000, 1)))
    assert auc == pytest.approx(sps.norm.cdf(1 / math.sqrt(2)), abs=0.02)


def test_domain_auc_is_the_regularised_optimums_with_fewer_rows_than_dimensions():
    """Embeddings give more dimensions than sampled rows (896 vs 800 in the demo): the solver must still reach
    the L2 optimum the thresholds were set on, here checked against lbfgs run to a tight tolerance."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=(120, 300)), rng.normal(size=(120, 300))
    cur[:, :5] += 1.0  # a shift in a few directions, as a new topic moves a few embedding dimensions
    x, y = np.concatenate([ref, cur]), np.r_[np.zeros(120, int), np.ones(120, int)]
    exact = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=100_000, tol=1e-12))
    p = cross_val_predict(exact, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    assert stats.domain_auc(ref, cur) == pytest.approx(stats.roc_auc(y, p[:, 1]), abs=1e-3)
    assert stats.domain_auc(ref, cur) > 0.6


def test_zscore():
    assert stats.zscore(0.5, [0.1]) is None
    assert stats.zscore(0.4, [0.1, 0.3]) == pytest.approx((0.4 - 0.2) / np.std([0.1, 0.3], ddof=1))
    assert stats.zscore(0.3, [0.2, 0.2, 0.2], min_std=0.05) == pytest.approx(2.0)
