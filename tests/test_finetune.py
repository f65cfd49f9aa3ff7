"""TransferFineTuner: mechanics on a tiny BERT, persistence, errors, the AL+FT baseline."""

from __future__ import annotations

import os
import random
import tempfile

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skprepal import PRepALLearner, TransferFineTuner
from skprepal.exceptions import InvalidInputError, ModelNotFoundError, NotFittedError


def _toy(n=40, seed=0):
    rng = np.random.RandomState(seed)
    words = {"billing": ["refund", "invoice", "charge"], "access": ["login", "password", "account"]}
    y = np.array(["billing", "access"] * (n // 2))
    X = [f"{rng.choice(words[c])} {rng.choice(words[c])} please {i}" for i, c in enumerate(y)]
    return X, y


def _tuner(tiny_bert, **kwargs):
    params = {
        "epochs": 2, "min_steps": None, "batch_size": 8, "learning_rate": 1e-3, "device": "cpu",
        "random_state": 0,
    }
    return TransferFineTuner(tiny_bert, **{**params, **kwargs})


def test_fit_predict_on_string_labels(tiny_bert):
    X, y = _toy()
    clf = _tuner(tiny_bert, epochs=8, learning_rate=3e-3).fit(X, y)
    assert list(clf.classes_) == ["access", "billing"]
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"access", "billing"}
    assert clf.score(X, y) > 0.8
    losses = [entry["loss"] for entry in clf.log_history_ if "loss" in entry]
    assert len(losses) == 8 and losses[-1] < losses[0]


def test_random_state_repeats_runs_and_leaves_global_rngs_alone(tiny_bert):
    X, y = _toy()
    # The legacy global numpy RNG is what the test checks is left alone, so it must be read.
    before = (
        random.getstate(),
        np.random.get_state()[1].copy(),  # noqa: NPY002
        torch.get_rng_state().clone(),
    )
    first = _tuner(tiny_bert).fit(X, y).predict_proba(X)
    after = (random.getstate(), np.random.get_state()[1], torch.get_rng_state())  # noqa: NPY002
    assert (
        before[0] == after[0]
        and np.array_equal(before[1], after[1])
        and torch.equal(before[2], after[2])
    )
    again = _tuner(tiny_bert).fit(X, y).predict_proba(X)
    other = _tuner(tiny_bert, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_min_steps_raises_the_epochs_of_small_fits(tiny_bert):
    X, y = _toy()  # 40 rows in batches of 8: 5 steps an epoch
    short = _tuner(tiny_bert, epochs=2, batch_size=8, min_steps=20).fit(X, y)
    assert short.epochs_ == 4.0
    assert max(entry["step"] for entry in short.log_history_) == 20
    enough = _tuner(tiny_bert, epochs=2, batch_size=8, min_steps=5).fit(X, y)
    assert enough.epochs_ == 2.0
    assert max(entry["step"] for entry in enough.log_history_) == 10
    # The default floor, 320 steps: 64 epochs of these 40 rows.
    default = TransferFineTuner(tiny_bert, batch_size=8, device="cpu", random_state=0).fit(X, y)
    assert default.epochs_ == 64.0
    assert max(entry["step"] for entry in default.log_history_) == 320


def test_sentence_pairs(tiny_bert):
    X, y = _toy()
    pairs = [(text, "a question?") for text in X]
    clf = _tuner(tiny_bert, epochs=8, learning_rate=3e-3).fit(pairs, y)
    assert clf.n_features_in_ == 2 and clf.score(pairs, y) > 0.8
    # Both texts reach the model, as a pair in order: the same pairs in an array give the same
    # probabilities, swapped pairs other ones.
    proba = clf.predict_proba(pairs)
    np.testing.assert_array_equal(clf.predict_proba(np.array(pairs, dtype=object)), proba)
    swapped = clf.predict_proba([(second, first) for first, second in pairs])
    assert not np.allclose(swapped, proba, atol=1e-4)


def test_class_weight(tiny_bert):
    X, y = _toy()
    X, y = X[:30], y[:30]
    y[:10] = "billing"  # 20 billing, 10 access
    balanced = _tuner(tiny_bert, epochs=1, class_weight="balanced").fit(X, y)
    np.testing.assert_allclose(balanced.class_weight_, [1.5, 0.75])
    manual = _tuner(tiny_bert, epochs=1, class_weight={"access": 3.0}).fit(X, y)
    np.testing.assert_allclose(manual.class_weight_, [3.0, 1.0])
    assert not np.allclose(
        manual.predict_proba(X), _tuner(tiny_bert, epochs=1).fit(X, y).predict_proba(X)
    )
    with pytest.raises(InvalidInputError, match="not in y"):
        _tuner(tiny_bert, class_weight={"nope": 2.0}).fit(X, y)


def test_validation_and_early_stopping(tiny_bert):
    X, y = _toy(60)
    params = {"epochs": 6, "validation_fraction": 0.25, "learning_rate": 5e-2}
    # Validation alone evaluates once per epoch and trains every epoch.
    validated = _tuner(tiny_bert, **params).fit(X, y)
    all_losses = [entry["eval_loss"] for entry in validated.log_history_ if "eval_loss" in entry]
    assert len(all_losses) == 6
    # At this learning rate the validation loss turns up within a few epochs (the run repeats:
    # random_state=0). Patience 1 stops at the first epoch that does not improve on the best so
    # far; training is the same up to there, so the losses are the first ones of the full run.
    stop = next(i for i in range(1, 6) if all_losses[i] >= min(all_losses[:i]))
    assert stop < 5
    stopped = _tuner(tiny_bert, **params, early_stopping_patience=1).fit(X, y)
    losses = [entry["eval_loss"] for entry in stopped.log_history_ if "eval_loss" in entry]
    assert losses == pytest.approx(all_losses[: stop + 1])
    assert max(entry["epoch"] for entry in stopped.log_history_) == stop + 1
    with pytest.raises(InvalidInputError, match="validation_fraction"):
        _tuner(tiny_bert, early_stopping_patience=2).fit(X, y)


def test_save_load_and_plain_transformers(tiny_bert, tmp_path):
    from transformers import AutoModelForSequenceClassification

    X, _ = _toy()
    y = np.array([3, 7] * 20)
    clf = _tuner(tiny_bert).fit(X, y)
    folder = clf.save(tmp_path / "saved")
    plain = AutoModelForSequenceClassification.from_pretrained(folder)
    assert plain.config.id2label == {0: "3", 1: "7"}
    restored = TransferFineTuner.load(folder, device="cpu")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.classes_.dtype == clf.classes_.dtype and list(restored.classes_) == [3, 7]
    assert restored.get_params()["epochs"] == 2
    with pytest.raises(ModelNotFoundError, match="no saved TransferFineTuner"):
        TransferFineTuner.load(tmp_path)
    from tests.conftest import add_remote_code

    add_remote_code(folder)  # a saved folder edited to ask for custom code is refused too
    with pytest.raises(InvalidInputError, match="needs its own Python code"):
        TransferFineTuner.load(folder, device="cpu")
    assert not (folder.parent / "custom-code-ran").exists()


def test_no_stray_checkpoints(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    X, y = _toy()
    _tuner(tiny_bert, validation_fraction=0.25, early_stopping_patience=1).fit(X, y)
    assert os.listdir(scratch) == [] and sorted(os.listdir(tmp_path)) == ["tmp"]
    kept = tmp_path / "checkpoints"
    _tuner(
        tiny_bert, validation_fraction=0.25, early_stopping_patience=1, output_dir=kept
    ).fit(X, y)
    assert any(name.startswith("checkpoint") for name in os.listdir(kept))


def test_clear_errors(tiny_bert, tmp_path):
    X, y = _toy()
    with pytest.raises(InvalidInputError, match="single class"):
        _tuner(tiny_bert).fit(X, ["billing"] * 40)
    with pytest.raises(InvalidInputError, match="empty"):
        _tuner(tiny_bert).fit([], [])
    with pytest.raises(InvalidInputError, match="40 texts but y has 39"):
        _tuner(tiny_bert).fit(X, y[:-1])
    with pytest.raises(NotFittedError, match="TransferFineTuner instance is not fitted yet"):
        _tuner(tiny_bert).predict(X)
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        TransferFineTuner(tmp_path / "missing").fit(X, y)
    with pytest.raises(InvalidInputError, match=r"X\[2\] is None"):
        _tuner(tiny_bert).fit(["a", "b", None], [0, 1, 0])
    fresh = clone(_tuner(tiny_bert))
    assert fresh.get_params()["model"] == tiny_bert and not hasattr(fresh, "model_")


@pytest.mark.parametrize(
    "labels, message",
    [
        (["billing", "access", None, "access"], r"y\[2\] is None"),
        ([0, 1, 1, None], r"y\[3\] is None"),
        ([0.0, float("nan"), 1.0, 0.0], r"y\[1\] is NaN"),
        (["billing", float("nan"), "access", "access"], r"y\[1\] is NaN"),  # as read_csv gives
        (np.array([1.0, 0.0, np.nan, np.nan]), r"y\[2\] is NaN.*2 missing in all, at rows 2, 3\)"),
    ],
)
def test_a_missing_label_names_its_row(tiny_bert, labels, message):
    X = ["refund", "login", "charge", "password"]
    with pytest.raises(InvalidInputError, match=message + r".*Drop the unlabeled rows"):
        _tuner(tiny_bert).fit(X, labels)


def test_labels_of_unsortable_mixed_types_are_a_clear_error(tiny_bert):
    with pytest.raises(InvalidInputError, match=r"mixes labels of types \['int', 'str'\]"):
        _tuner(tiny_bert).fit(["refund", "login", "charge"], ["billing", 1, "access"])


def test_a_model_that_needs_its_own_code_is_refused(remote_code_model):
    X, y = _toy()
    with pytest.raises(InvalidInputError, match="needs its own Python code.*never runs code"):
        _tuner(remote_code_model).fit(X, y)
    assert not (remote_code_model.parent / "custom-code-ran").exists()


def test_al_plus_ft_baseline_needs_no_special_path(tiny_bert):
    X, y = _toy(60)
    head = _tuner(tiny_bert, epochs=1)
    learner = PRepALLearner(head, batch_size=5, initial_size=10, budget=20, random_state=0)
    learner.fit(X, y)
    assert learner.labeled_indices_.size == 20
    assert [r["n_labeled"] for r in learner.history_] == [10, 15, 20]
    assert isinstance(learner.estimator_, TransferFineTuner)
    assert learner.predict(X[:3]).shape == (3,)


@pytest.mark.slow
def test_packaged_minilm_fine_tunes(packaged_minilm):
    from skprepal.datasets import load_sample_texts

    X, y = load_sample_texts(return_X_y=True)
    rng = np.random.RandomState(0)
    rows = rng.permutation(len(X))
    train, test = rows[:120], rows[600:]
    clf = TransferFineTuner(epochs=3, min_steps=None, batch_size=16, max_length=64,
                            learning_rate=1e-4, device="cpu", random_state=0).fit(X[train], y[train])
    assert clf.model_path_ == str(packaged_minilm)
    assert clf.score(X[test], y[test]) > 0.5  # 5 classes: chance is 0.2


def test_pickle_round_trip(tiny_bert):
    import pickle

    X, y = _toy()
    clf = _tuner(tiny_bert, epochs=1).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# -- mixed precision -------------------------------------------------------------------------


def _capture_training_arguments(monkeypatch):
    import skprepal.finetune as finetune_module

    captured = []
    original = finetune_module._training_arguments

    def spy(**kwargs):
        captured.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(finetune_module, "_training_arguments", spy)
    return captured


def test_precision_goes_through_the_trainers_own_options(tiny_bert, monkeypatch):
    import skprepal._hf._precision as precision_module
    from skprepal._hf import Hardware

    captured = _capture_training_arguments(monkeypatch)
    X, y = _toy()
    fp32 = _tuner(tiny_bert, epochs=1, precision="fp32").fit(X, y)
    assert fp32.precision_ == "fp32"
    assert (captured[-1]["bf16"], captured[-1]["fp16"]) == (False, False)
    # bf16 runs on any CPU (emulated without AMX-BF16 / AVX512_BF16): really mixed precision,
    # so the losses move off fp32's; fp32 master weights, so predictions come back in float64.
    bf16 = _tuner(tiny_bert, epochs=1, precision="bf16").fit(X, y)
    assert bf16.precision_ == "bf16"
    assert (captured[-1]["bf16"], captured[-1]["fp16"]) == (True, False)
    assert bf16.log_history_[-1]["train_loss"] != fp32.log_history_[-1]["train_loss"]
    assert next(bf16.model_.parameters()).dtype == torch.float32
    assert bf16.predict_proba(X).dtype == np.float64
    # "auto" follows the hardware found: bf16 where the CPU has it natively, fp32 otherwise.
    amx = Hardware("cpu", "a CPU with AMX", frozenset({"avx512f", "amx_tile", "amx_bf16"}))
    monkeypatch.setattr(precision_module, "detect_hardware", lambda device: amx)
    assert _tuner(tiny_bert, epochs=1).fit(X, y).precision_ == "bf16"
    assert captured[-1]["bf16"] is True
    avx2 = Hardware("cpu", "AMD EPYC", frozenset({"avx2", "fma"}))
    monkeypatch.setattr(precision_module, "detect_hardware", lambda device: avx2)
    assert _tuner(tiny_bert, epochs=1).fit(X, y).precision_ == "fp32"
    assert captured[-1]["bf16"] is False


def test_precision_survives_save_and_load(tiny_bert, tmp_path):
    X, y = _toy()
    clf = _tuner(tiny_bert, epochs=1, precision="bf16").fit(X, y)
    restored = TransferFineTuner.load(clf.save(tmp_path / "saved"), device="cpu")
    assert restored.precision == "bf16" and restored.precision_ == "bf16"
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_precision_errors(tiny_bert):
    X, y = _toy()
    with pytest.raises(InvalidInputError, match="fp16.*GPU only"):
        _tuner(tiny_bert, precision="fp16").fit(X, y)
    with pytest.raises(InvalidInputError, match="'int8' is not supported.*inference-only"):
        _tuner(tiny_bert, precision="int8").fit(X, y)
    with pytest.raises(InvalidInputError, match="Did you mean 'bf16'"):
        _tuner(tiny_bert, precision="bfloat16").fit(X, y)
