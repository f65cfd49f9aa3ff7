"""KMeansSampling against scikit-learn's k-means run as the strategy documents it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

from skprepal.strategies import KMeansSampling


def reference(X, n, random_state, *, minibatch, max_iter=300):
    seed = int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))
    kind = MiniBatchKMeans if minibatch else KMeans
    km = kind(n_clusters=n, n_init=1, max_iter=max_iter, random_state=seed).fit(X)
    dist = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    nearest = [np.flatnonzero(km.labels_ == c)[np.argmin(dist[km.labels_ == c, c])]
               for c in np.unique(km.labels_)]
    return sorted(int(r) for r in nearest)


@pytest.mark.parametrize(
    "threshold, minibatch",
    [(10_000, False), (300, False), (299, True), (100, True)],  # mini-batch above the threshold
)
def test_the_picks_are_the_rows_nearest_the_centres_of_the_documented_k_means(threshold, minibatch):
    X = np.random.RandomState(0).normal(size=(300, 5))
    strategy = KMeansSampling(minibatch_threshold=threshold, max_iter=50)
    for seed in (0, 1):
        picks = strategy(None, X, 8, random_state=seed)
        assert sorted(picks.tolist()) == reference(X, 8, seed, minibatch=minibatch, max_iter=50)
        np.testing.assert_array_equal(picks, strategy(None, X, 8, random_state=seed))
