"""Every strategy on a small constructed case where the right pick is known."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import (
    BADGE,
    BALD,
    ContrastiveAL,
    CoreSet,
    DiscriminativeAL,
    EntropySampling,
    KMeansSampling,
    LeastConfidence,
    MarginSampling,
    RandomSampling,
    mutual_information,
)


class FixedProba:
    """A 'fitted classifier' whose predict_proba returns given rows (by position in X)."""

    def __init__(self, proba, classes=None):
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.arange(self.proba.shape[1]) if classes is None else np.asarray(classes)

    def predict_proba(self, X):
        assert len(X) == self.proba.shape[0]
        return self.proba


class RuleProba:
    """predict_proba = [1 - s, s] with s = sigmoid(scale * X[:, column])."""

    classes_ = np.array([0, 1])

    def __init__(self, column, scale=10.0):
        self.column, self.scale = column, scale

    def predict_proba(self, X):
        s = 1.0 / (1.0 + np.exp(-self.scale * np.asarray(X)[:, self.column]))
        return np.column_stack([1.0 - s, s])


def blobs(centers, size, spread, seed=0):
    rng = np.random.RandomState(seed)
    centers = np.asarray(centers, dtype=float)
    X = np.concatenate([c + spread * rng.normal(size=(size, centers.shape[1])) for c in centers])
    return X, np.repeat(np.arange(len(centers)), size)


# -- uncertainty and random ------------------------------------------------------------------------

# Least confidence, margin and entropy each prefer a different row.
PROBA = [
    [0.49, 0.49, 0.02, 0.00],  # smallest margin
    [0.40, 0.35, 0.25, 0.00],  # lowest top probability
    [0.45, 0.20, 0.20, 0.15],  # highest entropy
    [0.97, 0.01, 0.01, 0.01],  # confident
]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [(LeastConfidence(), [1, 2, 0, 3]), (MarginSampling(), [0, 1, 2, 3]),
     (EntropySampling(), [2, 1, 0, 3])],
)
def test_uncertainty_picks(strategy, expected):
    picks = strategy(FixedProba(PROBA), np.zeros((4, 2)), 4)
    assert picks.tolist() == expected
    assert strategy(FixedProba(PROBA), np.zeros((4, 2)), 1).tolist() == expected[:1]


def test_margin_orders_like_entropy_for_two_classes():
    p = np.random.RandomState(0).uniform(size=500)
    clf = FixedProba(np.column_stack([p, 1 - p]))
    X = np.zeros((500, 1))
    np.testing.assert_array_equal(MarginSampling()(clf, X, 500), EntropySampling()(clf, X, 500))


def test_random_is_the_seeded_permutation():
    X = np.zeros((10, 2))
    picks = RandomSampling()(None, X, 3, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(picks, np.random.RandomState(0).choice(10, 3, replace=False))
    assert sorted(RandomSampling()(None, X, 10, random_state=1).tolist()) == list(range(10))


class ConstantProba:
    """A 'fitted classifier' giving every row the same probabilities: every score ties."""

    classes_ = np.array([0, 1, 2])

    def predict_proba(self, X):
        return np.tile([0.4, 0.4, 0.2], (len(X), 1))


@pytest.mark.parametrize("strategy", [LeastConfidence, MarginSampling, EntropySampling])
def test_random_tie_break_draws_among_equal_scores(strategy):
    X_pool = np.zeros((40, 2))
    head, mask = ConstantProba(), np.ones(40, dtype=bool)
    # Without it, ties go to the lowest position, whatever the seed and however called.
    for seed in range(3):
        assert strategy()(head, X_pool, 4, random_state=seed).tolist() == [0, 1, 2, 3]
        picked = strategy().select_rows(head, X_pool, mask, 4, random_state=seed)
        assert sorted(picked.tolist()) == [0, 1, 2, 3]
    # With it, the seed decides, on both paths; a seed repeats its draw.
    tie_break = strategy(random_tie_break=True)
    for call in (
        lambda seed: tie_break(head, X_pool, 4, random_state=seed),
        lambda seed: tie_break.select_rows(head, X_pool, mask, 4, random_state=seed),
    ):
        draws = [tuple(sorted(call(seed).tolist())) for seed in range(5)]
        assert len(set(draws)) == 5 and (0, 1, 2, 3) not in draws
        assert all(len(set(draw)) == 4 for draw in draws)
        assert tuple(sorted(call(3).tolist())) == draws[3]


# -- BALD ------------------------------------------------------------------------------------------


class MCSamples:
    """A head with predict_proba_samples: fixed samples, and a record of how it was called."""

    classes_ = np.array([0, 1])

    def __init__(self, samples):
        self.samples = np.asarray(samples, dtype=float)
        self.calls = []

    def predict_proba(self, X):
        return self.samples.mean(axis=0)

    def predict_proba_samples(self, X, n_samples, random_state=None):
        self.calls.append((n_samples, random_state))
        return self.samples[:n_samples]


def test_bald_mc_picks_the_one_row_samples_disagree_on():
    agree_unsure, agree_sure = [0.5, 0.5], [0.9, 0.1]
    samples = []
    for t in range(6):
        disagree = [1.0, 0.0] if t % 2 else [0.0, 1.0]
        samples.append([agree_unsure, agree_sure, disagree, agree_sure])
    head = MCSamples(samples)
    rng = np.random.RandomState(0)
    picks = BALD(n_samples=6)(head, np.zeros((4, 2)), 1, random_state=rng)
    assert picks.tolist() == [2]
    assert head.calls == [(6, rng)]
    # Entropy cannot tell the aleatoric row 0 from the disagreement row 2; BALD scores it 0.
    assert EntropySampling()(head, np.zeros((4, 2)), 1).tolist() == [0]
    scores = BALD(n_samples=6).score(head, np.zeros((4, 2)), random_state=rng)
    np.testing.assert_allclose(scores, [0.0, 0.0, np.log(2), 0.0], atol=1e-12)


def test_bald_mc_checks_the_shape():
    head = MCSamples(np.full((3, 5, 2), 0.5))
    with pytest.raises(
        InvalidInputError,
        match=r"MCSamples\.predict_proba_samples returned shape \(3, 5, 2\); expected "
        r"\(n_samples, 4, n_classes\)",
    ):
        BALD(n_samples=3)(head, np.zeros((4, 2)), 1)


def test_bald_bootstrap_committee_picks_the_boundary():
    X_labeled = np.r_[np.linspace(-3, -0.5, 6), np.linspace(0.5, 3, 6)][:, None]
    y_labeled = np.repeat([0, 1], 6)
    clf = LogisticRegression().fit(X_labeled, y_labeled)
    X_pool = np.array([[-10.0], [-5.0], [0.05], [5.0], [10.0]])
    picks = BALD(n_members=8)(
        clf, X_pool, 1, X_labeled=X_labeled, y_labeled=y_labeled, classes=clf.classes_,
        random_state=np.random.RandomState(0),
    )
    assert picks.tolist() == [2]


def test_bald_bootstrap_aligns_missing_classes():
    rng = np.random.RandomState(0)
    X_labeled = np.r_[rng.normal(size=(10, 2)), rng.normal(size=(10, 2)) + 4, [[8.0, -8.0]]]
    y_labeled = np.r_[np.zeros(10), np.ones(10), [2]].astype(int).astype(str)
    clf = LogisticRegression().fit(X_labeled, y_labeled)
    X_pool = rng.normal(size=(7, 2)) * 3
    # Some bootstrap members never see class "2" (a single labeled row); their columns must be
    # aligned to the full class list, which the scores show against a hand-built committee.
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "classes": clf.classes_}
    scores = BALD(n_members=20).scorer(clf, random_state=np.random.RandomState(0), **context)(
        X_pool
    )
    rng = np.random.RandomState(0)
    samples = np.zeros((20, 7, 3))
    seen_without_two = 0
    for t in range(20):
        rows = rng.randint(21, size=21)
        while np.unique(y_labeled[rows]).size < 2:
            rows = rng.randint(21, size=21)
        member = LogisticRegression().fit(X_labeled[rows], y_labeled[rows])
        columns = np.searchsorted(clf.classes_, member.classes_)
        samples[t][:, columns] = member.predict_proba(X_pool)
        seen_without_two += "2" not in member.classes_
    assert 0 < seen_without_two < 20
    np.testing.assert_allclose(scores, mutual_information(samples))


def test_bald_bootstrap_falls_back_to_stratified_resampling():
    class ZeroDraws(np.random.RandomState):
        def randint(self, *args, **kwargs):
            return np.zeros(kwargs.get("size", args[-1]), dtype=int)

    y = np.r_[np.zeros(30, dtype=int), [1, 1]]
    rows = BALD._bootstrap(y, np.unique(y), ZeroDraws(0))
    assert rows.shape == y.shape
    assert np.bincount(y[rows]).tolist() == [30, 2]


def test_bald_bootstrap_needs_labeled_rows_of_two_classes():
    clf = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(InvalidInputError, match="X_labeled and y_labeled"):
        BALD()(clf, np.zeros((3, 1)), 1)
    with pytest.raises(InvalidInputError, match="two classes"):
        BALD()(clf, np.zeros((3, 1)), 1, X_labeled=np.zeros((2, 1)), y_labeled=[1, 1])


# -- diversity -------------------------------------------------------------------------------------


def test_coreset_picks_the_far_outlier_first():
    X_labeled, _ = blobs([[0, 0]], 10, 0.5)
    X_near, _ = blobs([[0, 0]], 30, 0.5, seed=1)
    X_pool = np.r_[X_near[:17], [[12.0, 12.0]], X_near[17:]]
    assert CoreSet()(None, X_pool, 1, X_labeled=X_labeled).tolist() == [17]


@pytest.mark.parametrize("with_labeled", [True, False])
def test_coreset_covers_each_far_cluster(with_labeled):
    X_pool, cluster = blobs([[0, 0], [20, 0], [0, 20], [-20, -20]], 15, 0.3)
    context = {"X_labeled": blobs([[0, 0]], 5, 0.3, seed=3)[0]} if with_labeled else {}
    picks = CoreSet()(None, X_pool, 4 if not with_labeled else 3, random_state=0, **context)
    expected = {0, 1, 2, 3} if not with_labeled else {1, 2, 3}
    assert set(cluster[picks].tolist()) == expected


def test_coreset_ignores_duplicates_of_picked_rows():
    X_pool = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    picks = CoreSet()(None, X_pool, 10, X_labeled=np.zeros((1, 2)))
    assert sorted(picks.tolist()) == list(range(10))
    assert picks[0] >= 5


def test_kmeans_picks_one_row_per_blob_nearest_its_centre():
    rng = np.random.RandomState(0)
    offsets = rng.normal(size=(10, 3)) * 0.3
    offsets = np.r_[offsets, -offsets, np.zeros((1, 3))]  # symmetric: the blob's mean is a row
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=float)
    X_pool = np.concatenate([c + offsets for c in centres])
    for seed in range(3):
        picks = KMeansSampling()(None, X_pool, 4, random_state=seed)
        assert sorted(picks.tolist()) == [20, 41, 62, 83]


def test_kmeans_minibatch_above_threshold(monkeypatch):
    from sklearn import cluster as sk_cluster

    from skprepal.strategies import _diversity

    used = []
    for name in ("KMeans", "MiniBatchKMeans"):
        original = getattr(sk_cluster, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            used.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_diversity, name, spy)
    X_pool, cluster = blobs([[0, 0], [30, 0], [0, 30]], 40, 0.5)  # 120 rows
    picks = KMeansSampling(minibatch_threshold=10)(None, X_pool, 3, random_state=0)
    assert used == ["MiniBatchKMeans"] and sorted(cluster[picks].tolist()) == [0, 1, 2]
    used.clear()
    picks = KMeansSampling(minibatch_threshold=120)(None, X_pool, 3, random_state=0)  # not above
    assert used == ["KMeans"] and sorted(cluster[picks].tolist()) == [0, 1, 2]


def test_kmeans_with_fewer_distinct_rows_than_picks():
    X_pool = np.r_[np.zeros((6, 2)), np.ones((6, 2))]
    picks = KMeansSampling()(None, X_pool, 5, random_state=0)
    assert len(set(picks.tolist())) == 5
    assert {0, 1} <= set((picks >= 6).astype(int).tolist())


def test_badge_picks_one_row_per_direction_of_uncertain_rows():
    X_pool, cluster = blobs([[5, 0, 0], [-5, 0, 0], [0, 5, 0], [0, 0, 5]], 25, 0.01)
    clf = FixedProba(np.tile([0.5, 0.5], (100, 1)))
    for seed in range(5):
        picks = BADGE()(clf, X_pool, 4, random_state=np.random.RandomState(seed))
        assert sorted(cluster[picks].tolist()) == [0, 1, 2, 3]


def test_badge_skips_confident_rows():
    X_pool, cluster = blobs([[5, 0], [0, 5], [50, 50]], 10, 0.01)
    proba = np.where(cluster[:, None] == 2, [1.0, 0.0], [0.5, 0.5])
    picks = BADGE()(FixedProba(proba), X_pool, 2, random_state=0)
    assert sorted(cluster[picks].tolist()) == [0, 1]


def test_badge_uses_the_hidden_representation():
    X_pool, cluster = blobs([[5, 0], [-5, 0], [0, 5]], 10, 0.01)

    class Head(FixedProba):
        def hidden_representation(self, X):
            self.called = True
            return np.asarray(X)[:, 1:]  # blobs 0 and 1 collapse onto the origin

    head = Head(np.tile([0.3, 0.7], (30, 1)))
    picks = BADGE()(head, X_pool, 1, random_state=0)
    assert head.called and cluster[picks].tolist() == [2]


def test_badge_on_a_logistic_regression():
    X, y = blobs([[0, 0, 0], [4, 0, 0], [0, 4, 0]], 30, 1.0)
    clf = LogisticRegression().fit(X, y)
    proba = clf.predict_proba(X)
    # The gradient embedding's norm: |p - onehot(argmax p)| * |x| (a linear head: h = x).
    grad_norm = np.linalg.norm(proba - np.eye(3)[proba.argmax(axis=1)], axis=1)
    grad_norm *= np.linalg.norm(X, axis=1)
    uncertainty = 1.0 - proba.max(axis=1)
    for seed in range(3):
        picks = BADGE()(clf, X, 10, random_state=seed)
        assert len(set(picks.tolist())) == 10
        assert picks[0] == np.argmax(grad_norm)  # k-means++ starts from the largest gradient
        assert set(y[picks].tolist()) == {0, 1, 2}  # diverse: every blob
        assert np.median(uncertainty[picks]) > 5 * np.median(uncertainty)  # and uncertain


# -- discriminative and contrastive ----------------------------------------------------------------


def test_dal_picks_the_region_without_labeled_rows():
    X_labeled, _ = blobs([[0, 0]], 50, 1.0)
    X_pool = np.r_[blobs([[0, 0]], 60, 1.0, seed=1)[0], blobs([[6, 6]], 8, 0.5, seed=2)[0]]
    picks = DiscriminativeAL(n_subqueries=1)(None, X_pool, 8, X_labeled=X_labeled, random_state=0)
    assert sorted(picks.tolist()) == list(range(60, 68))
    # In sub-rounds, the rows picked first count as labeled, so later picks spread out.
    picks = DiscriminativeAL(n_subqueries=4)(None, X_pool, 8, X_labeled=X_labeled, random_state=0)
    assert set(picks[:2].tolist()) <= set(range(60, 68))


def test_dal_without_labeled_rows_and_a_custom_discriminator():
    X_pool, _ = blobs([[0, 0], [5, 5]], 20, 1.0)
    dal = DiscriminativeAL(discriminator=LogisticRegression(C=0.1), n_subqueries=3)
    picks = dal(None, X_pool, 6, random_state=0)
    assert len(set(picks.tolist())) == 6
    np.testing.assert_array_equal(picks, dal(None, X_pool, 6, random_state=0))


def test_cal_picks_the_row_predicted_unlike_its_labeled_neighbours():
    rng = np.random.RandomState(0)
    near = rng.normal(size=(20, 2)) * 0.3
    X_labeled = np.r_[np.c_[near, -np.ones(20)], np.c_[near + 10, np.ones(20)]]
    X_pool = np.r_[
        np.c_[rng.normal(size=(5, 2)) * 0.3, -np.ones(5)],  # agree: class 0 among class 0
        np.c_[rng.normal(size=(5, 2)) * 0.3 + 10, np.ones(5)],  # agree: class 1 among class 1
        [[0.1, 0.0, 0.0]],  # unsure among class 0: entropy's pick
        [[0.0, 0.1, 1.0]],  # class 1 among class 0: the contrastive pick
    ]
    head = RuleProba(column=2)
    assert ContrastiveAL(n_neighbors=5)(head, X_pool, 1, X_labeled=X_labeled).tolist() == [11]
    assert EntropySampling()(head, X_pool, 1).tolist() == [10]


def test_cal_needs_labeled_rows():
    with pytest.raises(InvalidInputError, match="needs X_labeled"):
        ContrastiveAL()(RuleProba(0), np.zeros((3, 2)), 1)
    with pytest.raises(InvalidInputError, match="needs X_labeled"):
        ContrastiveAL()(RuleProba(0), np.zeros((3, 2)), 1, X_labeled=np.zeros((0, 2)))


# -- sparse vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "strategy",
    [CoreSet(), KMeansSampling(), BADGE(), DiscriminativeAL(), ContrastiveAL(n_neighbors=3)],
    ids=lambda s: type(s).__name__,
)
def test_sparse_vectors_give_the_dense_picks(strategy):
    X, y = blobs([[0, 0, 0, 1], [3, 0, 0, 1], [0, 3, 0, 1]], 20, 0.5)
    X[np.abs(X) < 0.3] = 0.0
    clf = LogisticRegression().fit(X[:30], y[:30])
    context = {"X_labeled": X[:30], "y_labeled": y[:30], "classes": clf.classes_}
    dense = strategy(clf, X[30:], 6, random_state=np.random.RandomState(0), **context)
    sparse_context = {**context, "X_labeled": sp.csr_matrix(X[:30])}
    sparse = strategy(
        clf, sp.csr_matrix(X[30:]), 6, random_state=np.random.RandomState(0), **sparse_context
    )
    if isinstance(strategy, KMeansSampling):  # k-means on sparse input may converge elsewhere
        assert len(set(sparse.tolist())) == 6
    else:
        np.testing.assert_array_equal(np.sort(dense), np.sort(sparse))


class TableProba:
    """predict_proba read from a table by the row id in column 0 (exact zeros included)."""

    classes_ = np.array([0, 1, 2])

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)

    def predict_proba(self, X):
        return self.table[np.asarray(X)[:, 0].astype(int)]


def _mean_kl_to_neighbours(proba, X_labeled, X_pool, k):
    from sklearn.neighbors import NearestNeighbors

    p_lab, p_pool = proba[X_labeled[:, 0].astype(int)], proba[X_pool[:, 0].astype(int)]
    near = NearestNeighbors(n_neighbors=k).fit(X_labeled).kneighbors(X_pool, return_distance=False)
    log = lambda p: np.log(np.maximum(p, 1e-12))  # noqa: E731
    return np.array([
        np.mean([(p_lab[j] * (log(p_lab[j]) - log(p_pool[i]))).sum() for j in near[i]])
        for i in range(len(X_pool))
    ])


@pytest.mark.parametrize("k", [1, 2])
def test_cal_scores_are_the_mean_kl_divergence_from_the_labeled_neighbours(k):
    # Rows: [id, position]; the ids index the probability table, the positions set neighbours.
    proba = [[1.0, 0.0, 0.0], [0.7, 0.3, 0.0], [0.0, 0.0, 1.0], [0.2, 0.5, 0.3],
             [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.1, 0.1, 0.8]]
    X_labeled = np.array([[0, 0.0], [1, 1.0], [2, 10.0], [3, 11.0]])
    X_pool = np.array([[4, 0.5], [5, 10.5], [6, 0.2]])
    scores = ContrastiveAL(n_neighbors=k).score(TableProba(proba), X_pool, X_labeled=X_labeled)
    expected = _mean_kl_to_neighbours(np.array(proba), X_labeled, X_pool, k)
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, expected, rtol=1e-10)


def test_cal_says_what_it_needs_in_its_own_name():
    with pytest.raises(InvalidInputError) as caught:
        ContrastiveAL()(RuleProba(0), np.zeros((3, 2)), 1)
    assert str(caught.value) == (
        "query strategy 'cal' compares each pool row with its nearest labeled rows and needs "
        "X_labeled in the context (with at least one row); for a cold start use "
        "query_strategy='random' or 'coreset'."
    )
    with pytest.raises(InvalidInputError, match="query strategy 'cal': X_labeled has 2 features"):
        ContrastiveAL()(RuleProba(0), np.zeros((3, 3)), 1, X_labeled=np.zeros((4, 2)))
    with pytest.raises(InvalidInputError, match="query strategy 'cal' needs class probabilities"):
        ContrastiveAL()(object(), np.zeros((3, 2)), 1, X_labeled=np.zeros((4, 2)))


def _greedy_k_centre(X_pool, X_labeled, n):
    """Greedy k-centre with exact Euclidean distances: the reference CoreSet must reproduce."""
    from scipy.spatial.distance import cdist

    min_dist = cdist(X_pool, X_labeled).min(axis=1)
    picks = []
    for _ in range(n):
        c = int(np.argmax(min_dist))
        picks.append(c)
        min_dist = np.minimum(min_dist, cdist(X_pool, X_pool[[c]]).ravel())
    return picks


def test_coreset_is_greedy_k_centre_on_exact_distances():
    rng = np.random.RandomState(3)
    X_pool, X_labeled = rng.normal(size=(60, 4)) * 5 + 2, rng.normal(size=(5, 4))
    assert CoreSet()(None, X_pool, 12, X_labeled=X_labeled).tolist() == _greedy_k_centre(
        X_pool, X_labeled, 12
    )
    with pytest.raises(InvalidInputError, match="query strategy 'coreset': X_labeled has 3 "):
        CoreSet()(None, X_pool, 2, X_labeled=np.zeros((2, 3)))


def test_coreset_cold_start_draws_its_first_row_from_the_whole_pool_with_the_random_state():
    X_pool = np.random.RandomState(0).normal(size=(50, 2))
    first = {int(CoreSet()(None, X_pool, 1, random_state=seed)[0]) for seed in range(20)}
    assert len(first) > 5 and max(first) >= 2  # not only rows 0-1 (the pool's width)
    again = [CoreSet()(None, X_pool, 5, random_state=7).tolist() for _ in range(3)]
    assert again[0] == again[1] == again[2]


def _badge_reference(proba, H, n, seed):
    """BADGE written out: explicit gradient embeddings (the proba minus the one-hot of the
    predicted class, times the hidden vector), then k-means++ seeding with the same draws."""
    A = proba.copy()
    A[np.arange(len(A)), A.argmax(axis=1)] -= 1.0
    G = np.einsum("ic,id->icd", A, H).reshape(len(A), -1)
    rng = np.random.RandomState(seed)
    c = int(np.argmax((G**2).sum(axis=1)))
    picks, min_dist = [c], np.full(len(G), np.inf)
    for _ in range(n - 1):
        min_dist = np.minimum(min_dist, ((G - G[c]) ** 2).sum(axis=1))
        min_dist[c] = 0.0
        cumulative = np.cumsum(min_dist)
        c = int(np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1]), side="right"))
        picks.append(c)
    return picks


@pytest.mark.parametrize("scale", [0.05, 3.0])  # total squared distances below 1, and above
def test_badge_is_kmeans_plus_plus_on_explicit_gradient_embeddings(scale):
    rng = np.random.RandomState(1)
    H = rng.normal(size=(40, 3)) * scale
    H[0] *= 8  # the first pick (the largest gradient)
    H[-1] *= 6  # an outlier last row, so that the last bin is drawn
    proba = rng.dirichlet(np.ones(3), size=40)
    for seed in range(6):
        expected = _badge_reference(proba, H, 8, seed)
        picks = BADGE()(FixedProba(proba), H, 8, random_state=seed).tolist()
        assert picks == expected
        assert len(set(picks)) == 8


class HiddenHead(FixedProba):
    """A head whose hidden representation is given (a list, or a sparse matrix)."""

    def __init__(self, proba, hidden):
        super().__init__(proba)
        self.hidden = hidden

    def hidden_representation(self, X):
        return self.hidden


def test_badge_takes_a_list_or_a_sparse_hidden_representation_and_checks_its_rows():
    rng = np.random.RandomState(2)
    H, proba = rng.normal(size=(30, 4)), rng.dirichlet(np.ones(2), size=30)
    dense = BADGE()(HiddenHead(proba, H), np.zeros((30, 1)), 6, random_state=0).tolist()
    assert dense == _badge_reference(proba, H, 6, 0)
    for hidden in (H.tolist(), sp.csr_matrix(H)):
        head = HiddenHead(proba, hidden)
        assert BADGE()(head, np.zeros((30, 1)), 6, random_state=0).tolist() == dense
    with pytest.raises(InvalidInputError) as caught:
        BADGE()(HiddenHead(proba, H[:29]), np.zeros((30, 1)), 2, random_state=0)
    assert str(caught.value) == (
        "query strategy 'badge': hidden_representation returned 29 rows for a pool of 30."
    )
    with pytest.raises(InvalidInputError, match="query strategy 'badge' needs class probabilities"):
        BADGE()(object(), np.zeros((30, 1)), 2)


def test_badge_falls_back_to_distinct_unpicked_rows_when_every_row_is_a_duplicate():
    # Three distinct points, each 4 times: after 3 picks every distance is 0.
    rng = np.random.RandomState(0)
    H = np.repeat(rng.normal(size=(3, 2)), 4, axis=0)
    proba = np.repeat(rng.dirichlet(np.ones(2), size=3), 4, axis=0)
    for seed in range(10):
        picks = BADGE()(FixedProba(proba), H, 9, random_state=seed).tolist()
        assert len(set(picks)) == 9


def test_dal_fits_its_discriminator_on_a_sample_of_a_large_pool():
    rng = np.random.RandomState(0)
    X_labeled, X_pool = rng.normal(size=(30, 3)), rng.normal(size=(400, 3)) + [0.5, 0, 0]

    def picks(max_unlabeled, seed=0):
        strategy = DiscriminativeAL(n_subqueries=1, max_unlabeled=max_unlabeled)
        return strategy(None, X_pool, 10, X_labeled=X_labeled, random_state=seed).tolist()

    # At or above the pool's size nothing is sampled; below it, a sample of that size is drawn
    # with the random state: reproducible, and another model from the whole pool's.
    assert picks(400) == picks(None) == picks(1000)
    assert picks(20) == picks(20) and picks(20) != picks(None)
    assert picks(20, seed=1) != picks(20, seed=0)
