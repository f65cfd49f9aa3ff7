"""scikit-learn's estimator checks on every public estimator.

FrozenLLMTransformer takes text, not numeric 2-D arrays, so ``parametrize_with_checks`` would skip
it whole (scikit-learn runs its data checks only on estimators tagged ``two_d_array``). The checks
that need no data run as they are; the transformer's data checks are repeated below with texts
(the fine-tuner's, which train a model, are in test_finetune.py).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as checks

from skprepal import FrozenLLMTransformer, PRepALLearner, TransferFineTuner
from skprepal.exceptions import InvalidInputError, NotFittedError

VECTOR_ESTIMATORS = [
    PRepALLearner(random_state=0),
    # A budget below the data size: classes_ must still be every label of the oracle.
    PRepALLearner(initial_size=5, batch_size=5, budget=20, random_state=0),
    PRepALLearner(
        missing_label=None, query_strategy="entropy", batch_size=5, initial_size=5, random_state=0
    ),
]


def _expected_failures(estimator):
    if estimator.missing_label is None:
        return {
            # An all-NaN y must fail, says the check; but None marks the pool, and NaN is how
            # pandas stores a None (a float column, or a string one): all NaN is a cold start.
            "check_supervised_y_no_nan": "NaN marks the pool when missing_label=None",
        }
    if estimator.missing_label != -1:
        return {}
    return {
        # Its last problem labels the classes -1 and 1: with the default missing_label=-1 the
        # -1 rows are the pool, not a class. scikit-learn exempts its own semi-supervised
        # classifiers from this by name (estimator_checks._choose_check_classifiers_labels).
        # Every other problem of the check passes, and the whole check passes with
        # missing_label=None (the third configuration).
        "check_classifiers_classes": "-1 is the default missing_label, not a class",
    }


@checks.parametrize_with_checks(VECTOR_ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)

DATA_FREE_CHECKS = [
    checks.check_estimator_cloneable,
    checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
    checks.check_estimator_repr,
    checks.check_no_attributes_set_in_init,
    checks.check_do_not_raise_errors_in_init_or_set_params,
    checks.check_mixin_order,
    checks.check_parameters_default_constructible,
    checks.check_get_params_invariance,
    checks.check_set_params,
]

TEXT_ESTIMATORS = [FrozenLLMTransformer]


@pytest.fixture
def text_estimator(request, tiny_bert):
    return request.param(tiny_bert, device="cpu")


def _check_id(check):
    return check.__name__


@pytest.mark.parametrize("text_estimator", [*TEXT_ESTIMATORS, TransferFineTuner], indirect=True)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=_check_id)
def test_sklearn_data_free_checks(text_estimator, check):
    check(type(text_estimator).__name__, text_estimator)


@pytest.mark.parametrize("text_estimator", [*TEXT_ESTIMATORS, TransferFineTuner], indirect=True)
def test_text_tags(text_estimator):
    tags = text_estimator.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


# -- the data checks of scikit-learn, with texts ------------------------------------------------


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_fit_returns_self_and_leaves_params_alone(text_estimator, texts):
    params = clone(text_estimator).get_params()
    assert text_estimator.fit(texts) is text_estimator
    assert text_estimator.get_params() == params


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_unfitted_raises_not_fitted(text_estimator, texts):
    with pytest.raises(NotFittedError, match="instance is not fitted yet"):
        text_estimator.transform(texts)


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_fit_is_idempotent(text_estimator, texts):
    first = clone(text_estimator).fit(texts).transform(texts)
    second = text_estimator.fit(texts).fit(texts).transform(texts)
    np.testing.assert_allclose(first, second, atol=1e-6)


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_sample_order_and_subset_invariance(text_estimator, texts):
    fitted = text_estimator.fit(texts)
    full = fitted.transform(texts)
    order = np.random.RandomState(0).permutation(len(texts))
    np.testing.assert_allclose(fitted.transform([texts[i] for i in order]), full[order], atol=1e-5)
    np.testing.assert_allclose(fitted.transform(texts[:2]), full[:2], atol=1e-5)


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_one_sample_and_empty_input(text_estimator, texts):
    assert text_estimator.fit(texts[:1]).transform(texts[:1]).shape[0] == 1
    with pytest.raises(InvalidInputError, match="empty"):
        clone(text_estimator).fit([])


@pytest.mark.parametrize("text_estimator", TEXT_ESTIMATORS, indirect=True)
def test_dict_unchanged_by_transform_and_pickle_round_trip(text_estimator, texts):
    fitted = text_estimator.fit(texts)
    before = {k: v for k, v in fitted.__dict__.items() if not k.startswith("_")}
    out = fitted.transform(texts)
    after = {k: v for k, v in fitted.__dict__.items() if not k.startswith("_")}
    assert before.keys() == after.keys() and all(before[k] is after[k] for k in before)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(texts), out)
