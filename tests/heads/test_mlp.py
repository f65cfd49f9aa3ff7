"""TorchMLPClassifier: scikit-learn's checks, learning, determinism, MC dropout, warm start."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.heads import TorchMLPClassifier

LABELS = np.array(["billing", "bug", "login", "privacy"])


def small(**params):
    """A head small and fast enough for unit tests."""
    defaults = {"hidden_layer_sizes": (32,), "max_epochs": 40, "random_state": 0}
    return TorchMLPClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def blobs():
    """Four well-separated Gaussian blobs in 32-d, string labels, train and test halves."""
    X, y = make_blobs(n_samples=400, n_features=32, centers=4, cluster_std=3.0, random_state=0)
    X = X.astype(np.float32)
    y = LABELS[y]
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y, _, _ = blobs
    return small().fit(X, y)


# -- scikit-learn's estimator checks -------------------------------------------------------------


@parametrize_with_checks(
    [
        TorchMLPClassifier(
            hidden_layer_sizes=(16,),
            max_epochs=40,
            learning_rate=1e-2,
            batch_size=32,
            random_state=0,
        )
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_tags():
    tags = TorchMLPClassifier().__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags.multi_class and not tags.classifier_tags.multi_label
    assert not tags.classifier_tags.poor_score
    assert not tags.non_deterministic
    assert tags.target_tags.required
    assert not tags.input_tags.sparse and not tags.input_tags.allow_nan


# -- learning ------------------------------------------------------------------------------------


def test_learns_well_separated_blobs_with_string_labels(blobs, fitted):
    _, _, X_test, y_test = blobs
    assert list(fitted.classes_) == list(LABELS)
    assert fitted.n_features_in_ == 32
    assert np.mean(fitted.predict(X_test) == y_test) >= 0.9
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 4) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # Columns follow classes_: the column of the true class carries the most mass.
    true_col = np.searchsorted(fitted.classes_, y_test)
    assert np.mean(proba[np.arange(len(y_test)), true_col] > 0.5) >= 0.9
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X_test))


def test_fitted_attributes(fitted):
    assert isinstance(fitted.module_, torch.nn.Module) and not fitted.module_.training
    assert fitted.device_ == "cpu"
    assert len(fitted.loss_curve_) == fitted.n_iter_ >= 1
    assert fitted.best_loss_ == pytest.approx(min(fitted.loss_curve_))
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    assert fitted.validation_loss_curve_ is None
    with torch.no_grad():
        logits = fitted.module_(torch.zeros(2, 32))
    assert logits.shape == (2, 4)


def test_integer_labels_and_lists(blobs):
    X, y, X_test, _ = blobs
    y_int = np.searchsorted(LABELS, y) * 10
    clf = small().fit(X.tolist(), y_int.tolist())
    np.testing.assert_array_equal(clf.classes_, [0, 10, 20, 30])
    assert set(clf.predict(X_test)) <= {0, 10, 20, 30}


def test_tol_stops_before_max_epochs(blobs):
    X, y, _, _ = blobs
    clf = small(max_epochs=500, n_iter_no_change=3, tol=1e-2).fit(X, y)
    assert clf.n_iter_ < 500


def test_early_stopping_keeps_the_best_validation_epoch(blobs):
    X, y, X_test, y_test = blobs
    clf = small(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3).fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == pytest.approx(min(clf.validation_loss_curve_))
    assert np.mean(clf.predict(X_test) == y_test) >= 0.9


def test_early_stopping_with_tiny_classes_and_one_row():
    X = np.arange(10, dtype=np.float32).reshape(5, 2)
    # Class 1 has one row, too few to stratify: a plain split still holds a row out, so every
    # epoch has a validation loss, and both classes stay known.
    tiny = small(early_stopping=True, max_epochs=3, n_iter_no_change=10).fit(X, [0, 0, 0, 0, 1])
    assert list(tiny.classes_) == [0, 1] and tiny.predict_proba(X).shape == (5, 2)
    assert tiny.n_iter_ == 3 and len(tiny.validation_loss_curve_) == 3
    assert tiny.best_loss_ == pytest.approx(min(tiny.validation_loss_curve_))
    # One row is one class: nothing to hold out and nothing to train, and it is predicted.
    one = small(early_stopping=True, max_epochs=3).fit(X[:1], [0])
    assert one.n_iter_ == 0 and one.validation_loss_curve_ == []
    np.testing.assert_array_equal(one.predict(X), [0] * 5)


def test_class_weight_shifts_predictions():
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=6.0, random_state=0)
    plain = small(learning_rate=1e-2).fit(X, y)
    weighted = small(learning_rate=1e-2, class_weight={0: 100.0, 1: 0.01}).fit(X, y)
    assert np.mean(weighted.predict(X) == 0) > np.mean(plain.predict(X) == 0)
    assert np.mean(weighted.predict(X) == 0) > 0.9
    small(class_weight="balanced", max_epochs=2).fit(X, y)


def test_class_weight_and_validation_errors_name_the_argument():
    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    with pytest.raises(InvalidInputError, match=r"class_weight names classes not in y: \['2'\]"):
        small(class_weight={0: 1.0, 2: 5.0}).fit(X, [0, 1, 0, 1])
    with pytest.raises(InvalidInputError, match="validation_fraction=0.8 leaves no rows to train"):
        small(early_stopping=True, validation_fraction=0.8).fit(X, [0, 1, 0, 1])


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_activations_and_deeper_networks(blobs, activation):
    X, y, X_test, y_test = blobs
    clf = small(hidden_layer_sizes=(32, 16), activation=activation).fit(X, y)
    assert np.mean(clf.predict(X_test) == y_test) >= 0.9
    assert clf.hidden_representation(X_test).shape == (len(X_test), 16)


def test_int_hidden_layer_sizes_and_auto_device(blobs):
    X, y, _, _ = blobs
    clf = small(hidden_layer_sizes=8, device="auto", max_epochs=2).fit(X, y)
    assert clf.hidden_representation(X[:3]).shape == (3, 8)
    assert clf.get_params()["hidden_layer_sizes"] == 8


def test_verbose_prints_the_loss(blobs, capsys):
    X, y, _, _ = blobs
    small(max_epochs=2, verbose=True).fit(X, y)
    assert "Epoch 2, loss =" in capsys.readouterr().out


# -- determinism ---------------------------------------------------------------------------------


def test_same_random_state_gives_identical_results(blobs, fitted):
    X, y, X_test, _ = blobs
    again = small().fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), fitted.predict_proba(X_test))
    assert again.loss_curve_ == fitted.loss_curve_


def test_different_random_state_gives_different_results(blobs, fitted):
    X, y, X_test, _ = blobs
    other = small(random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X_test), fitted.predict_proba(X_test))


def test_torch_global_rng_is_neither_used_nor_reseeded(blobs, fitted):
    X, y, X_test, _ = blobs
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    small(max_epochs=3).fit(X, y)
    fitted.predict_proba_samples(X_test, n_samples=3, random_state=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.get_num_threads() == threads  # training may use fewer threads, then restores


def test_random_state_instance_is_accepted(blobs):
    X, y, X_test, _ = blobs
    # A RandomState is used as scikit-learn uses one: RandomState(0) draws what the seed 0 draws,
    # and a second fit with the same instance continues its stream (a different model).
    shared = np.random.RandomState(0)
    first = small(random_state=shared, max_epochs=2).fit(X, y).predict_proba(X_test)
    seeded = small(random_state=0, max_epochs=2).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(first, seeded)
    second = small(random_state=shared, max_epochs=2).fit(X, y).predict_proba(X_test)
    assert not np.array_equal(second, first)


# -- MC dropout and the hidden representation --------------------------------------------------


def test_predict_proba_samples(blobs, fitted):
    _, _, X_test, _ = blobs
    samples = fitted.predict_proba_samples(X_test, n_samples=30, random_state=0)
    assert samples.shape == (30, len(X_test), 4)
    np.testing.assert_allclose(samples.sum(axis=-1), 1.0, atol=1e-12)
    assert not np.allclose(samples[0], samples[1])
    np.testing.assert_array_equal(
        samples, fitted.predict_proba_samples(X_test, n_samples=30, random_state=0)
    )
    assert not np.array_equal(
        samples, fitted.predict_proba_samples(X_test, n_samples=30, random_state=1)
    )
    assert np.abs(samples.mean(axis=0) - fitted.predict_proba(X_test)).mean() < 0.05


def test_predict_proba_samples_without_dropout_equal_predict_proba(blobs):
    X, y, X_test, _ = blobs
    clf = small(dropout=0.0, hidden_layer_sizes=(16, 8)).fit(X, y)
    samples = clf.predict_proba_samples(X_test, n_samples=4)
    for sample in samples:
        np.testing.assert_array_equal(sample, clf.predict_proba(X_test))


def test_predict_proba_samples_rejects_bad_n_samples(fitted):
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidInputError, match="n_samples"):
            fitted.predict_proba_samples(np.zeros((2, 32)), n_samples=bad)


def test_hidden_representation_is_the_input_of_the_output_layer(blobs, fitted):
    _, _, X_test, _ = blobs
    H = fitted.hidden_representation(X_test)
    assert H.shape == (len(X_test), 32)
    assert (H >= 0).all()  # after the ReLU
    W = fitted.module_.output.weight.detach().double().numpy()
    b = fitted.module_.output.bias.detach().double().numpy()
    logits = H @ W.T + b
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, fitted.predict_proba(X_test), atol=1e-10)


def test_outputs_do_not_depend_on_the_batch(blobs, fitted):
    _, _, X_test, _ = blobs
    full = fitted.predict_proba(X_test)
    one_by_one = np.vstack([fitted.predict_proba(row[None]) for row in X_test[:20]])
    np.testing.assert_allclose(one_by_one, full[:20], rtol=0, atol=1e-12)


# -- warm start ----------------------------------------------------------------------------------


def test_warm_start_continues_from_the_previous_weights(blobs):
    X, y, X_test, y_test = blobs
    cold = small(max_epochs=5)
    cold.fit(X, y)
    warm = small(max_epochs=5, warm_start=True)
    warm.fit(X, y)
    first_loss = warm.loss_curve_[0]
    warm.fit(X, y)
    assert warm.loss_curve_[0] < first_loss
    assert warm.loss_curve_[0] < cold.loss_curve_[0]
    # New data of the same classes still trains and predicts.
    warm.fit(X_test, y_test)
    assert np.mean(warm.predict(X) == y) >= 0.9


def test_warm_start_grows_the_output_layer_for_a_new_class(blobs):
    X, y, X_test, y_test = blobs
    seen = y != "billing"  # the new class sorts first: the old rows must move down by one
    clf = small(max_epochs=5, warm_start=True).fit(X[seen], y[seen])
    assert list(clf.classes_) == list(LABELS[1:])
    old_hidden = clf.module_.hidden[0].weight.detach().clone()
    old_out = clf.module_.output.weight.detach().clone()
    # A step too small to move the weights shows what the second fit started from.
    clf.set_params(learning_rate=1e-12, weight_decay=0.0, max_epochs=1).fit(X, y)
    assert list(clf.classes_) == list(LABELS) and clf.module_.output.out_features == 4
    torch.testing.assert_close(clf.module_.hidden[0].weight.detach(), old_hidden)
    torch.testing.assert_close(clf.module_.output.weight[1:].detach(), old_out)
    # And the grown head trains on.
    clf.set_params(learning_rate=1e-3, max_epochs=30).fit(X, y)
    assert np.mean(clf.predict(X_test) == y_test) >= 0.9


def test_warm_start_drops_rows_of_classes_that_are_gone(blobs):
    X, y, _, _ = blobs
    clf = small(max_epochs=5, warm_start=True).fit(X, y)
    old_out = clf.module_.output.weight.detach().clone()
    keep = np.isin(y, ["bug", "privacy"])
    clf.set_params(learning_rate=1e-12, weight_decay=0.0, max_epochs=1).fit(X[keep], y[keep])
    assert list(clf.classes_) == ["bug", "privacy"]
    torch.testing.assert_close(clf.module_.output.weight.detach(), old_out[[1, 3]])


def test_warm_start_with_other_features_starts_over(blobs):
    X, y, _, _ = blobs
    clf = small(max_epochs=2, warm_start=True).fit(X, y)
    clf.fit(X[:, :8], y)
    assert clf.n_features_in_ == 8 and clf.module_.hidden[0].in_features == 8


# -- one class -----------------------------------------------------------------------------------


def test_one_class_fits_and_predicts_it(blobs):
    X, _, X_test, _ = blobs
    clf = small().fit(X[:5], ["bug"] * 5)
    np.testing.assert_array_equal(clf.classes_, ["bug"])
    np.testing.assert_array_equal(clf.predict(X_test), ["bug"] * len(X_test))
    np.testing.assert_array_equal(clf.predict_proba(X_test), np.ones((len(X_test), 1)))
    assert clf.predict_proba_samples(X_test, n_samples=3).shape == (3, len(X_test), 1)
    assert clf.hidden_representation(X_test).shape == (len(X_test), 32)
    assert clf.n_iter_ == 0 and clf.loss_curve_ == [] and clf.best_loss_ == 0.0


def test_one_class_then_more_with_warm_start(blobs):
    X, y, X_test, y_test = blobs
    clf = small(warm_start=True).fit(X[:3], ["bug"] * 3)
    clf.fit(X, y)
    assert np.mean(clf.predict(X_test) == y_test) >= 0.9


# -- pickling and cloning ------------------------------------------------------------------------


def test_pickle_round_trip_gives_identical_predictions(blobs, fitted):
    _, _, X_test, _ = blobs
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X_test), fitted.predict_proba(X_test))
    np.testing.assert_array_equal(restored.predict(X_test), fitted.predict(X_test))
    np.testing.assert_array_equal(
        restored.predict_proba_samples(X_test, n_samples=3, random_state=0),
        fitted.predict_proba_samples(X_test, n_samples=3, random_state=0),
    )
    assert restored.device_ == "cpu" and not restored.module_.training
    # Pickling leaves the original whole.
    assert isinstance(fitted.module_, torch.nn.Module)
    assert "_module_state" not in vars(fitted)


def test_pickled_weights_are_cpu_tensors(fitted):
    state = fitted.__getstate__()
    assert "module_" not in state
    assert all(t.device.type == "cpu" for t in state["_module_state"].values())


def test_module_pickles_on_its_own(blobs, fitted):
    _, _, X_test, _ = blobs
    module = pickle.loads(pickle.dumps(fitted.module_))
    x = torch.from_numpy(X_test[:5])
    with torch.no_grad():
        torch.testing.assert_close(module(x), fitted.module_(x), rtol=0, atol=0)


def test_clone_is_unfitted_with_the_same_params(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "module_") and not hasattr(copy, "classes_")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        copy.predict(np.zeros((1, 32)))


# -- errors --------------------------------------------------------------------------------------


def test_nan_in_X_raises(blobs):
    X, y, _, _ = blobs
    X = X.copy()
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small().fit(X, y)


def test_string_X_raises(blobs):
    _, y, _, _ = blobs
    with pytest.raises(ValueError, match="could not convert string to float"):
        small().fit([["a text", "b"]] * len(y), y)


def test_predict_before_fit_raises_not_fitted():
    clf = small()
    for method in ("predict", "predict_proba", "predict_proba_samples", "hidden_representation"):
        with pytest.raises(SklearnNotFittedError, match="not fitted yet"):
            getattr(clf, method)(np.zeros((2, 32)))


def test_wrong_number_of_features_after_fit_raises(fitted):
    with pytest.raises(ValueError, match="features"):
        fitted.predict_proba_samples(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="features"):
        fitted.hidden_representation(np.zeros((2, 5)))


def test_continuous_y_raises(blobs):
    X, _, _, _ = blobs
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"dropout": 1.0}, r"'dropout' parameter .* range \[0.0, 1.0\)\. Got 1.0"),
        ({"activation": "sigmoid"}, r"'activation' parameter .* Got 'sigmoid'"),
        ({"hidden_layer_sizes": (0,)}, r"hidden_layer_sizes=\(0,\) must be a positive int"),
        ({"tol": -1}, r"'tol' parameter .* Got -1"),
    ],
)
def test_invalid_params_raise(blobs, params, message):
    X, y, _, _ = blobs
    with pytest.raises(ValueError, match=message):  # InvalidParameterError and
        small(**params).fit(X, y)  # InvalidInputError are both ValueErrors


@pytest.mark.parametrize("sizes", [(), (16, 0), (16, 2.5), [True]])
def test_invalid_hidden_layer_sizes_raise(blobs, sizes):
    X, y, _, _ = blobs
    with pytest.raises(InvalidInputError, match="hidden_layer_sizes"):
        small(hidden_layer_sizes=sizes).fit(X, y)


def test_unknown_device_raises(blobs):
    X, y, _, _ = blobs
    with pytest.raises(InvalidInputError, match="device"):
        small(device="tpu").fit(X, y)
