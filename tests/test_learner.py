"""PRepALLearner: simulation, interactive labeling, composition and bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.strategies import BALD, EntropySampling


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=800, centers=4, n_features=16, cluster_std=3.0, random_state=0)
    return X.astype(np.float32), y


# -- simulation ------------------------------------------------------------------------------


def test_simulation_respects_budget_and_records_every_round(blobs):
    X, y = blobs
    learner = PRepALLearner(batch_size=30, initial_size=40, budget=200, random_state=0).fit(X, y)
    acquired = learner.labeled_indices_
    assert acquired.shape == (200,) and np.unique(acquired).size == 200
    sizes = [r["n_labeled"] for r in learner.history_]
    assert sizes == [40, 70, 100, 130, 160, 190, 200]
    assert [r["n_queried"] for r in learner.history_] == [40, 30, 30, 30, 30, 30, 10]
    assert np.array_equal(np.concatenate([r["queried"] for r in learner.history_]), acquired)
    assert learner.history_[0]["strategy"] == "random"
    assert learner.history_[1]["strategy"] == "class_balanced_margin"
    assert learner.stop_reason_ == "budget of 200 labels reached"
    # The final head is fit on everything acquired, and only that (warm-started, so equal to a
    # cold fit up to the solver's tolerance).
    reference = LogisticRegression(max_iter=1000).fit(X[acquired], y[acquired])
    np.testing.assert_allclose(learner.predict_proba(X), reference.predict_proba(X), atol=0.02)
    assert np.mean(learner.predict(X) == reference.predict(X)) > 0.99


def test_simulation_is_reproducible(blobs):
    X, y = blobs
    runs = [PRepALLearner(budget=150, random_state=s).fit(X, y).labeled_indices_ for s in (1, 1, 2)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_uncertainty_beats_random_on_a_linear_boundary():
    # A linear boundary a logistic head can find: the rows near it are the informative ones,
    # so margin sampling beats random on every seed, not only on average.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3000, 20))
    y = (X @ rng.normal(size=20) > 0).astype(int)
    scores = {
        strategy: [
            PRepALLearner(
                query_strategy=strategy, batch_size=20, initial_size=20, budget=200,
                random_state=seed,
            ).fit(X[:2000], y[:2000]).score(X[2000:], y[2000:])
            for seed in range(5)
        ]
        for strategy in ("random", "margin")
    }
    assert min(scores["margin"]) > max(scores["random"])


def test_budget_none_runs_until_the_pool_is_empty(blobs):
    X, y = blobs
    learner = PRepALLearner(batch_size=100, initial_size=50, random_state=0).fit(X[:300], y[:300])
    assert learner.labeled_indices_.size == 300 and learner.stop_reason_ == "the pool is empty"
    assert learner.query().size == 0


def test_eval_set_scores_each_round_and_history_makes_a_frame(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    learner = PRepALLearner(budget=150, random_state=0).fit(
        X[:600], y[:600], eval_set=(X[600:], y[600:])
    )
    frame = pd.DataFrame(learner.history_)
    assert list(frame["n_labeled"]) == [50, 100, 150]
    assert frame["score"].between(0, 1).all()
    assert frame["score"].iloc[-1] == pytest.approx(learner.score(X[600:], y[600:]))
    assert (frame["fit_seconds"] >= 0).all() and (frame["query_seconds"] >= 0).all()


@pytest.mark.parametrize(
    "head", [LogisticRegression(max_iter=500), DummyClassifier(strategy="prior")]
)
def test_any_classifier_is_a_head(blobs, head):
    X, y = blobs
    learner = PRepALLearner(head, query_strategy="random", budget=120, random_state=0).fit(X, y)
    rows = learner.labeled_indices_
    # The learner's predictions are those of the head fit on the acquired rows (warm-started
    # from the previous round within a simulation: the same optimum within the tolerance).
    reference = clone(head).fit(X[rows], y[rows])
    np.testing.assert_allclose(learner.predict_proba(X), reference.predict_proba(X), atol=0.01)
    assert np.mean(learner.predict(X) == reference.predict(X)) > 0.99
    assert type(learner.estimator_) is type(head) and learner.estimator_ is not head


def test_interactive_heads_are_cold_fits_and_the_users_head_is_untouched(blobs):
    X, y = blobs
    head = LogisticRegression(C=0.5, max_iter=500, warm_start=True)
    partial = np.where(np.arange(len(y)) < 60, y, -1)
    learner = PRepALLearner(head, random_state=0).fit(X, partial)
    for _ in range(3):
        rows = learner.query()
        learner.teach(rows, y[rows])
    rows = np.sort(learner.labeled_indices_)
    reference = LogisticRegression(C=0.5, max_iter=500).fit(X[rows], y[rows])
    np.testing.assert_allclose(learner.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    assert not hasattr(head, "coef_") and learner.estimator_ is not head
    assert PRepALLearner().get_params()["estimator"] is None


def test_a_simulation_warm_starts_its_head_between_rounds(blobs):
    X, y = blobs
    learner = PRepALLearner(budget=150, random_state=0).fit(X, y)
    assert learner.estimator_.warm_start is True
    rows = np.sort(learner.labeled_indices_)
    cold = clone(learner.estimator_).set_params(warm_start=False).fit(X[rows], y[rows])
    # The same optimum within the solver's tolerance.
    assert np.mean(learner.predict(X) == cold.predict(X)) > 0.99


# -- strategies as given -----------------------------------------------------------------------


def test_modal_functions_and_callables_drive_the_loop(blobs):
    from modAL.uncertainty import entropy_sampling

    X, y = blobs
    ours = PRepALLearner(query_strategy="entropy", budget=150, random_state=0).fit(X, y)
    modal = PRepALLearner(query_strategy=entropy_sampling, budget=150, random_state=0).fit(X, y)
    assert np.array_equal(ours.labeled_indices_, modal.labeled_indices_)

    calls = []

    def first_rows(estimator, X_pool, n):
        calls.append(len(X_pool))
        return np.arange(n)

    PRepALLearner(query_strategy=first_rows, budget=150, random_state=0).fit(X, y)
    assert calls == [750, 700]
    obj = PRepALLearner(query_strategy=EntropySampling(random_tie_break=True), budget=100).fit(X, y)
    assert obj.labeled_indices_.size == 100


# -- interactive labeling ----------------------------------------------------------------------


def test_query_teach_round_trip(blobs):
    X, y = blobs
    partial = np.full(len(y), -1)
    partial[:40] = y[:40]
    learner = PRepALLearner(batch_size=25, random_state=0).fit(X, partial)
    assert np.array_equal(learner.labeled_indices_, np.arange(40))
    picked = learner.query()
    assert picked.dtype.kind == "i" and picked.shape == (25,) and picked.min() >= 40
    learner.teach(picked, y[picked])
    assert np.array_equal(learner.labeled_indices_, np.concatenate([np.arange(40), picked]))
    record = learner.history_[-1]
    assert record["n_labeled"] == 65 and np.array_equal(record["queried"], picked)
    assert record["strategy"] == "class_balanced_margin"
    assert (
        learner.query(3).shape == (3,)
        and not np.isin(learner.query(10), learner.labeled_indices_).any()
    )


def test_relabeling_replaces_the_label(blobs):
    X, y = blobs
    partial = np.where(np.arange(len(y)) < 60, y, -1)
    learner = PRepALLearner(random_state=0).fit(X, partial)
    learner.teach([0], [(y[0] + 1) % 4])
    assert learner.labeled_indices_.size == 60
    assert learner.y_labeled_[list(learner.labeled_indices_).index(0)] == (y[0] + 1) % 4
    expected = np.where(np.arange(60) == 0, (y[0] + 1) % 4, y[:60])
    reference = clone(learner.estimator_).fit(X[:60], expected)
    np.testing.assert_allclose(learner.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_cold_start_and_one_class_start_still_query():
    X, _ = make_blobs(n_samples=200, centers=2, n_features=5, random_state=1)
    texts_labels = np.full(200, None, dtype=object)
    learner = PRepALLearner(batch_size=5, missing_label=None, random_state=0).fit(X, texts_labels)
    with pytest.raises(NotFittedError, match="no labels yet"):
        learner.predict(X)
    first = learner.query()
    learner.teach(first, ["spam"] * 5)  # one class only
    assert list(learner.predict(X[:3])) == ["spam"] * 3
    second = learner.query()
    assert second.shape == (5,) and not np.isin(second, first).any()
    learner.teach(second, ["ham", "spam", "ham", "ham", "spam"])
    assert list(learner.classes_) == ["ham", "spam"]
    assert isinstance(learner.estimator_, LogisticRegression)
    assert learner.history_[-1]["strategy"] == "random"  # the query that led here


def test_string_labels_longer_than_the_first_ones_are_kept():
    X, _ = make_blobs(n_samples=50, centers=2, n_features=3, random_state=0)
    y = np.array(["a", "b"] * 5 + [""] * 40)
    learner = PRepALLearner(missing_label="", random_state=0).fit(X, y)
    learner.teach([20], ["a much longer label"])
    assert "a much longer label" in learner.classes_


@pytest.mark.parametrize(
    "indices, labels, message",
    [
        ([1000], [0], "out of range"),
        ([-1], [0], "out of range"),
        ([60.0], [0], "integer row numbers"),
        ([60, 60], [0, 1], "repeat"),
        ([60, 61], [0], "2 indices but 1 labels"),
        ([60], [-1], "missing_label"),
        ([60], ["cat"], "same type"),
        ([60], [1.5], "same type"),
    ],
)
def test_rejected_teach_changes_nothing(blobs, indices, labels, message):
    X, y = blobs
    partial = np.where(np.arange(len(y)) < 60, y, -1)
    learner = PRepALLearner(random_state=0).fit(X, partial)
    def state():
        return pickle.dumps(
            (learner.labeled_indices_, learner.y_labeled_, learner.skipped_indices_,
             learner.history_, learner.query(5), learner.predict_proba(X[:5]))
        )

    before = state()
    with pytest.raises(InvalidInputError, match=message):
        learner.teach(indices, labels)
    assert state() == before


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error(blobs):
    X, y = blobs
    with pytest.raises(InvalidInputError, match="800 rows but y has 799"):
        PRepALLearner().fit(X, y[:-1])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PRepALLearner().fit(bad, y)
    with pytest.raises(InvalidInputError, match="Did you mean 'entropy'"):
        PRepALLearner(query_strategy="entropi").fit(X, y)
    with pytest.raises(InvalidInputError, match="budget=20 is below initial_size=50"):
        PRepALLearner(budget=20).fit(X, y)
    with pytest.raises(InvalidInputError, match="FrozenLLMTransformer"):
        PRepALLearner().fit(["a text", "another"], [0, 1])
    with pytest.raises(InvalidInputError, match="positive integer"):
        PRepALLearner(budget=60).fit(X, y).query(0)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        PRepALLearner().query()


def _ticket_texts():
    rng = np.random.RandomState(0)
    topics = {"billing": "refund invoice charge card", "access": "login password locked account"}
    y = rng.choice(list(topics), size=60)
    texts = [f"{topics[c].split()[rng.randint(4)]} please help {i}" for i, c in enumerate(y)]
    return texts, y


def test_a_vector_head_on_texts_says_to_embed_them_first():
    texts, y = _ticket_texts()
    with pytest.raises(
        InvalidInputError,
        match=r"LogisticRegression needs numeric vectors, but X holds texts\. Embed them first, "
        r"e\.g\. Pipeline\(\[\('embed', FrozenLLMTransformer\(\)\)",
    ):
        PRepALLearner(budget=30, initial_size=10, random_state=0).fit(texts, y)


@pytest.mark.parametrize("strategy", ["coreset", "kmeans", "badge", "dal", "cal"])
def test_vector_strategy_on_texts_says_what_to_do(strategy):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    texts, y = _ticket_texts()
    head = make_pipeline(TfidfVectorizer(), LogisticRegression())
    learner = PRepALLearner(
        head, query_strategy=strategy, batch_size=10, initial_size=10, budget=30, random_state=0
    )
    with pytest.raises(
        InvalidInputError,
        match=rf"query strategy '{strategy}' measures distances between samples and needs numeric "
        r"vectors.*For texts, put a FrozenLLMTransformer before the learner",
    ):
        learner.fit(texts, y)
    # The same strategy runs once the texts are vectors.
    vectors = TfidfVectorizer().fit_transform(texts).toarray()
    learner.set_params(estimator=None).fit(vectors, y)
    assert learner.labeled_indices_.size == 30


# -- composition ------------------------------------------------------------------------------


def test_pipeline_on_raw_texts_and_grid_search_over_strategies(tiny_bert, tmp_path):
    rng = np.random.RandomState(0)
    words = {0: "refund invoice charge", 1: "login password account", 2: "crash error bug"}
    y = rng.randint(0, 3, size=120)
    texts = [f"{words[c]} {rng.choice(['the', 'a', 'very', 'not'])} {i}" for i, c in enumerate(y)]
    pipe = Pipeline(
        [
            ("embed", FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu")),
            ("al", PRepALLearner(batch_size=10, initial_size=10, budget=40, random_state=0)),
        ]
    )
    pipe.fit(texts, y)
    assert pipe[-1].labeled_indices_.size == 40
    assert pipe.predict(texts[:5]).shape == (5,)
    search = GridSearchCV(pipe, {"al__query_strategy": ["random", "entropy", "margin"]}, cv=2)
    search.fit(texts, y)
    assert set(search.cv_results_["param_al__query_strategy"]) == {"random", "entropy", "margin"}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    search = GridSearchCV(pipe, {"al__estimator__C": [0.1, 10.0]}, cv=2).fit(texts, y)
    assert search.best_params_["al__estimator__C"] in (0.1, 10.0)


def test_clone_and_pickle_mid_session(blobs):
    X, y = blobs
    partial = np.where(np.arange(len(y)) < 50, y, -1)
    learner = PRepALLearner(batch_size=10, query_strategy="entropy", random_state=0).fit(X, partial)
    learner.teach(learner.query(), y[learner.query()])
    restored = pickle.loads(pickle.dumps(learner))
    for session in (learner, restored):
        picked = session.query()
        session.teach(picked, y[picked])
    assert np.array_equal(restored.labeled_indices_, learner.labeled_indices_)
    np.testing.assert_array_equal(restored.predict_proba(X), learner.predict_proba(X))
    fresh = clone(learner)
    assert not hasattr(fresh, "history_") and fresh.get_params() == learner.get_params()


# -- stopping ---------------------------------------------------------------------------------


def test_stopping_criteria_end_the_simulation(blobs):
    from skprepal.stopping import AnyOf, MaxLabels, StabilizingPredictions

    X, y = blobs
    capped = PRepALLearner(
        stopping=MaxLabels(max_labels=120), batch_size=20, random_state=0
    ).fit(X, y)
    assert capped.labeled_indices_.size == 130  # stops at the first check at or past 120
    assert "120" in capped.stop_reason_
    stable = StabilizingPredictions(stop_set_size=400, window=2, threshold=0.98)
    learner = PRepALLearner(stopping=stable, batch_size=20, random_state=0).fit(X, y)
    assert learner.labeled_indices_.size < len(y)
    assert "kappa" in learner.stop_reason_.lower()
    assert not hasattr(stable, "stop_set_") and hasattr(learner.stopping_, "reason_")
    # The criterion's draws do not change what the strategy picks.
    either = AnyOf([MaxLabels(max_labels=10_000)])
    with_stop = PRepALLearner(stopping=either, budget=150, random_state=0).fit(X, y)
    without = PRepALLearner(budget=150, random_state=0).fit(X, y)
    assert np.array_equal(with_stop.labeled_indices_, without.labeled_indices_)


@pytest.mark.parametrize("strategy", ["bald", "badge", "coreset", "dal", "cal", "kmeans"])
def test_torch_head_drives_every_family(blobs, strategy):
    from skprepal import TorchMLPClassifier

    X, y = blobs
    head = TorchMLPClassifier(hidden_layer_sizes=(32,), max_epochs=20, random_state=0)
    learner = PRepALLearner(
        head, query_strategy=strategy, batch_size=20, initial_size=40, budget=100, random_state=0
    ).fit(X, y)
    assert learner.labeled_indices_.size == 100 and np.unique(learner.labeled_indices_).size == 100
    assert learner.score(X, y) > 0.5


def test_bald_uses_mc_dropout_samples_of_the_torch_head(blobs, monkeypatch):
    from skprepal import TorchMLPClassifier

    X, y = blobs
    calls = []
    original = TorchMLPClassifier.predict_proba_samples

    def spy(self, *args, **kwargs):
        calls.append(kwargs.get("n_samples", args[1] if len(args) > 1 else None))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TorchMLPClassifier, "predict_proba_samples", spy)
    head = TorchMLPClassifier(hidden_layer_sizes=(32,), max_epochs=10, random_state=0)
    PRepALLearner(head, query_strategy="bald", batch_size=20, initial_size=40, budget=80).fit(X, y)
    assert calls == [10, 10]  # one query per round after the first, BALD's n_samples passes each
    calls.clear()
    bald = BALD(n_samples=4)
    PRepALLearner(head, query_strategy=bald, batch_size=20, initial_size=40, budget=80).fit(X, y)
    assert calls == [4, 4]


def test_a_text_head_runs_on_raw_texts():
    """A head that takes texts (the AL+FT set-up) needs no embedding step and no special path."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    rng = np.random.RandomState(0)
    topics = {"billing": "refund invoice charge card", "access": "login password locked account"}
    y = rng.choice(list(topics), size=150)
    texts = [f"{topics[c].split()[rng.randint(4)]} please help {i}" for i, c in enumerate(y)]
    head = make_pipeline(TfidfVectorizer(), LogisticRegression())
    learner = PRepALLearner(head, batch_size=10, initial_size=10, budget=50, random_state=0)
    learner.fit(texts, y)
    assert learner.labeled_indices_.size == 50
    assert learner.score(texts, y) > 0.7  # chance is 0.5
    with pytest.raises(InvalidInputError, match="needs numeric vectors"):
        PRepALLearner(
            head, query_strategy="coreset", budget=30, initial_size=10, random_state=0
        ).fit(texts, y)
