"""TorchMLPClassifier: a small dropout MLP trained with torch, the active-learning head."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from skprepal._compat import Interval, StrOptions, fit_context, validate_data
from skprepal._hf import resolve_device
from skprepal._training import class_weights, stratified_split
from skprepal._validation import check_fitted
from skprepal.exceptions import InvalidInputError
from skprepal.heads._torch_module import (
    _adamw,
    _generator,
    _inference_dtype,
    _make_module,
    _to_tensor,
    _torch_threads,
)

__all__ = ["TorchMLPClassifier"]

logger = logging.getLogger(__name__)

ACTIVATION_CHOICES = ("relu", "gelu", "tanh")
# Rows per forward pass at inference: bounds memory on large pools. Every inference method uses
# the same chunks, so dropout=0 MC samples equal predict_proba bit for bit.
_INFERENCE_CHUNK = 8192
_SEED_HIGH = np.iinfo(np.int32).max
# Below this many floating-point operations per optimisation step, training on the CPU runs on
# one torch thread. Such steps are dominated by per-op overhead: a second thread does not speed
# them up, and on a busy machine torch's spinning OpenMP workers slow them down by 10-40x
# (measured: 35 ms/epoch on one thread against 30-2000 ms on two, for 2,000 x 384 rows and a
# (256,) head, while other processes used the cores). One thread also makes small fits give the
# same bits whatever the machine's core count.
_SINGLE_THREAD_FLOPS = 2e8


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """A small multi-layer perceptron with dropout, trained with torch: the active-learning head.

    Each hidden layer is ``Linear -> activation -> dropout``; the output layer is linear, and the
    network is trained with AdamW on the (optionally class-weighted) cross-entropy, in
    mini-batches, until the loss stops improving or ``max_epochs`` is reached. Besides the usual
    classifier methods it offers what active-learning strategies need from a neural head:
    Monte-Carlo dropout samples of the class probabilities (:meth:`predict_proba_samples`, for
    BALD [1]_ [2]_) and the penultimate representation (:meth:`hidden_representation`, for BADGE).

    Given ``random_state``, fitting on the CPU is fully reproducible: the weight initialisation,
    the shuffling and the dropout masks are drawn from local ``torch.Generator`` objects seeded
    from ``random_state``; torch's global RNG is neither used nor reseeded.

    A target with a single class does not raise: the class is stored, training is skipped, and
    every prediction is that class with probability 1 (active-learning loops often start there).

    Parameters
    ----------
    hidden_layer_sizes : int or array-like of int, default=(256,)
        Width of each hidden layer; at least one layer.
    dropout : float, default=0.2
        Probability of zeroing each hidden activation during training and in
        :meth:`predict_proba_samples`. In ``[0, 1)``.
    activation : {"relu", "gelu", "tanh"}, default="relu"
        Non-linearity after each hidden layer.
    learning_rate : float, default=1e-3
        Step size of AdamW.
    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW.
    batch_size : int, default=64
        Rows per optimisation step (capped at the number of training rows).
    max_epochs : int, default=100
        Maximum number of passes over the training rows.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified when every class has enough rows)
        and stop when the loss on them stops improving; the weights of the best epoch are kept.
        Ignored, with a log message, when fewer than 2 rows are given.
    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping`` is True. In ``(0, 1)``.
    n_iter_no_change : int, default=10
        Stop after this many consecutive epochs in which the monitored loss (the training loss,
        or the validation loss with ``early_stopping``) did not improve on its best value by at
        least ``tol``.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss that counts as an improvement.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the cross-entropy: ``{label: weight}``, ``"balanced"`` (inversely
        proportional to the class frequencies in ``y``, as in
        :func:`sklearn.utils.class_weight.compute_class_weight`), or None for equal weights.
    warm_start : bool, default=False
        Start ``fit`` from the weights of the previous fit instead of a fresh initialisation, when
        the number of features and ``hidden_layer_sizes`` are unchanged (otherwise the network is
        initialised anew). The classes are those of the new ``y``: output rows of classes seen
        before are kept, a new class gets a freshly initialised row, and rows of classes absent
        from the new ``y`` are dropped. The optimizer state is not kept.
    device : str, default="cpu"
        Torch device to train and predict on: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, or
        ``"auto"`` (CUDA, then MPS, then the CPU).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the shuffling, the dropout masks and the validation split. Pass
        an int for reproducible fits.
    verbose : bool or int, default=False
        Print the loss after each epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; the column order of :meth:`predict_proba`.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str of shape ``(n_features_in_,)``
        Column names, when ``X`` was a pandas DataFrame with string column names.
    module_ : torch.nn.Module
        The trained network, in eval mode. ``module_(x)`` returns logits of shape
        (n_rows, n_classes) for a float32 tensor ``x``. With a single class it is an untrained
        network with one output.
    device_ : str
        The torch device ``module_`` lives on; ``"cpu"`` after unpickling.
    loss_curve_ : list of float
        Mean training loss of each epoch (with dropout active); empty with a single class.
    validation_loss_curve_ : list of float or None
        Loss on the held-out rows after each epoch with ``early_stopping``, else None.
    n_iter_ : int
        Number of epochs run; 0 with a single class.
    best_loss_ : float
        Best value of the monitored loss: the training loss, or the validation loss with
        ``early_stopping``. 0.0 with a single class (the cross-entropy is then exactly zero).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP, without dropout or MC sampling.
    skprepal.FrozenLLMTransformer : Frozen embeddings this head is trained on.

    References
    ----------
    .. [1] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation: Representing Model
       Uncertainty in Deep Learning", ICML 2016.
    .. [2] N. Houlsby, F. Huszár, Z. Ghahramani and M. Lengyel, "Bayesian Active Learning for
       Classification and Preference Learning", arXiv:1112.5745, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skprepal.heads import TorchMLPClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(-2, 1, size=(40, 5)), rng.normal(2, 1, size=(40, 5))])
    >>> y = np.array(["neg"] * 40 + ["pos"] * 40)
    >>> clf = TorchMLPClassifier(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)
    >>> clf.fit(X, y).predict([[-2.0] * 5, [2.0] * 5])
    array(['neg', 'pos'], dtype='<U3')
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.predict_proba_samples(X[:3], n_samples=8, random_state=0).shape
    (8, 3, 2)
    >>> clf.hidden_representation(X[:3]).shape
    (3, 16)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "activation": [StrOptions(set(ACTIVATION_CHOICES))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes: Any = (256,),
        dropout: float = 0.2,
        activation: str = "relu",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = 100,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
        device: str = "cpu",
        random_state: Any = None,
        verbose: bool | int = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.activation = activation
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- scikit-learn API -------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> TorchMLPClassifier:
        """Train the network on ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features, for example frozen text embeddings; used as float32.
        y : array-like of shape (n_samples,)
            Class labels of any type ``numpy.unique`` sorts (ints, strings, ...).

        Returns
        -------
        self : TorchMLPClassifier
            The fitted classifier.
        """
        old_module = getattr(self, "module_", None) if self.warm_start else None
        old_classes = getattr(self, "classes_", None) if self.warm_start else None
        old_n_features = getattr(self, "n_features_in_", None)

        hidden = self._hidden_sizes()
        device = resolve_device(self.device)
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", reset=True)
        check_classification_targets(y)
        classes, y_idx = np.unique(y, return_inverse=True)
        n_samples, n_features = X.shape

        rng = check_random_state(self.random_state)
        init_seed, shuffle_seed, dropout_seed = (int(s) for s in rng.randint(_SEED_HIGH, size=3))
        init_gen = _generator("cpu", init_seed)

        reuse = (
            old_module is not None
            and old_n_features == n_features
            and old_module.config["hidden_layer_sizes"] == hidden
        )
        if old_module is not None and not reuse:
            logger.info(
                "warm_start: the number of features or hidden_layer_sizes changed; the network "
                "is initialised anew."
            )
        module = _make_module(
            n_features, hidden, len(classes), self.activation, self.dropout, "cpu", init_gen
        )
        if reuse:
            self._copy_weights(old_module, old_classes, module, classes)
        module = module.to(device)

        self.classes_ = classes
        self.device_ = device
        self.loss_curve_ = []
        self.validation_loss_curve_ = [] if self.early_stopping else None
        self.n_iter_ = 0
        self.best_loss_ = 0.0
        self.module_ = module
        if len(classes) == 1:
            logger.info("y holds a single class, %r: training is skipped.", classes[0])
            module.eval()
            return self

        weights = class_weights(self.class_weight, classes, y_idx)
        sizes = (n_features, *hidden, len(classes))
        flops = 6 * min(self.batch_size, n_samples) * sum(
            a * b for a, b in zip(sizes, sizes[1:], strict=False)
        )
        threads = 1 if device == "cpu" and flops < _SINGLE_THREAD_FLOPS else None
        with _torch_threads(threads):
            self._train(X, y_idx, weights, rng, shuffle_seed, dropout_seed)
        module.eval()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, with dropout off.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; each row sums to 1.
        """
        import torch

        Xt = self._check_predict_input(X)
        module, device = self._inference_module()
        with torch.no_grad():
            out = [
                torch.softmax(module(chunk, stochastic=False), dim=-1)
                for chunk in self._chunks(Xt, device)
            ]
        return self._numpy(out, axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_samples(
        self, X: Any, n_samples: int = 10, random_state: Any = None
    ) -> np.ndarray:
        """Monte-Carlo dropout: class probabilities of ``n_samples`` stochastic forward passes.

        Dropout stays active at inference, each pass with fresh masks, so the samples approximate
        draws from the approximate posterior predictive (Gal & Ghahramani, 2016); their spread
        measures the model's uncertainty (as BALD uses it). With ``dropout=0`` every sample equals
        :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Numeric features.
        n_samples : int, default=10
            Number of stochastic forward passes.
        random_state : int, RandomState instance or None, default=None
            Seeds the dropout masks; an int makes the samples reproducible.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_rows, n_classes)
            One probability matrix per pass, columns in the order of ``classes_``.
        """
        import torch

        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise InvalidInputError(f"n_samples must be an int >= 1, got {n_samples!r}.")
        Xt = self._check_predict_input(X)
        module, device = self._inference_module()
        seed = int(check_random_state(random_state).randint(_SEED_HIGH))
        gen = _generator(device, seed)
        with torch.no_grad():
            out = [
                torch.softmax(module.forward_samples(chunk, int(n_samples), gen), dim=-1)
                for chunk in self._chunks(Xt, device)
            ]
        return self._numpy(out, axis=1)

    def hidden_representation(self, X: Any) -> np.ndarray:
        """Activations of the last hidden layer, with dropout off (the input of the output layer).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Numeric features.

        Returns
        -------
        ndarray of float64, shape (n_rows, hidden_layer_sizes[-1])
            One row per input row (float32 on MPS, which has no float64).
        """
        import torch

        Xt = self._check_predict_input(X)
        module, device = self._inference_module()
        with torch.no_grad():
            out = [module.embed(chunk) for chunk in self._chunks(Xt, device)]
        return self._numpy(out, axis=0)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        tags.classifier_tags.poor_score = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        # Deterministic given random_state: every random draw comes from local generators.
        tags.non_deterministic = False
        return tags

    # -- pickling: weights as CPU tensors, rebuilt on the CPU ----------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # object.__getstate__ returns the live __dict__: copy before removing anything.
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        if module is not None:
            state["_module_config"] = dict(module.config)
            state["_module_state"] = {
                k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()
            }
            state["device_"] = "cpu"
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        config = state.pop("_module_config", None)
        weights = state.pop("_module_state", None)
        super().__setstate__(state)
        if config is not None:
            module = _make_module(**config, device="cpu", generator=None)
            module.load_state_dict(weights)
            self.module_ = module.eval()
            self.device_ = "cpu"

    # -- helpers ---------------------------------------------------------------------------

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if (
            not sizes
            or any(isinstance(s, bool) or not isinstance(s, Integral) for s in sizes)
            or any(s < 1 for s in sizes)
        ):
            raise InvalidInputError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} must be a positive int or a "
                "non-empty sequence of positive ints, such as (256,) or (256, 128)."
            )
        return tuple(int(s) for s in sizes)

    @staticmethod
    def _copy_weights(old: Any, old_classes: Any, new: Any, new_classes: np.ndarray) -> None:
        """Copy hidden layers, and output rows of the classes both fits know, from old to new."""
        import torch

        with torch.no_grad():
            for src, dst in zip(old.hidden, new.hidden, strict=True):
                dst.weight.copy_(src.weight.detach().cpu())
                dst.bias.copy_(src.bias.detach().cpu())
            old_labels = [] if old_classes is None else old_classes.tolist()
            row_of = {c: i for i, c in enumerate(old_labels)}
            kept = 0
            for j, c in enumerate(new_classes.tolist()):
                i = row_of.get(c)
                if i is not None:
                    new.output.weight[j].copy_(old.output.weight[i].detach().cpu())
                    new.output.bias[j].copy_(old.output.bias[i].detach().cpu())
                    kept += 1
        logger.debug(
            "warm_start: kept the hidden layers and %d of %d output rows.", kept, len(new_classes)
        )

    def _split(self, X: np.ndarray, y_idx: np.ndarray, rng: np.random.RandomState) -> tuple:
        """Training and validation rows for early stopping (no validation rows: None)."""
        if not self.early_stopping:
            return X, y_idx, None, None
        if X.shape[0] < 2:
            logger.info("early_stopping needs at least 2 rows; training on all %d.", X.shape[0])
            return X, y_idx, None, None
        seed = int(rng.randint(_SEED_HIGH))
        train, held = stratified_split(y_idx, self.validation_fraction, seed)
        return X[train], y_idx[train], X[held], y_idx[held]

    def _train(
        self,
        X: np.ndarray,
        y_idx: np.ndarray,
        class_weights: np.ndarray | None,
        rng: np.random.RandomState,
        shuffle_seed: int,
        dropout_seed: int,
    ) -> None:
        import torch

        module, device = self.module_, self.device_
        X_tr, y_tr, X_va, y_va = self._split(X, y_idx, rng)
        Xt = _to_tensor(X_tr, device, torch.float32)
        yt = torch.from_numpy(y_tr.astype(np.int64)).to(device)
        validation = None
        if X_va is not None:
            validation = (
                _to_tensor(X_va, device, torch.float32),
                torch.from_numpy(y_va.astype(np.int64)).to(device),
            )
        weight = None
        if class_weights is not None:
            weight = torch.as_tensor(class_weights, dtype=torch.float32, device=device)
        criterion = torch.nn.CrossEntropyLoss(weight=weight)
        optimizer = _adamw(module, float(self.learning_rate), float(self.weight_decay))
        # Determinism without touching torch's global RNG: shuffling draws from a CPU generator,
        # dropout masks from a generator on the training device (passed to the module's forward,
        # which draws its masks with ``bernoulli_(generator=...)``), both seeded from
        # random_state. Fork-and-reseed of the global RNG would also work, but it is not
        # thread-safe and hides the dependency; explicit generators keep every draw local.
        shuffle_gen = _generator("cpu", shuffle_seed)
        dropout_gen = _generator(device, dropout_seed)

        n = Xt.shape[0]
        batch_size = min(int(self.batch_size), n)
        best, best_state, no_improvement = math.inf, None, 0
        converged = False
        for epoch in range(int(self.max_epochs)):
            module.train()
            order = torch.randperm(n, generator=shuffle_gen).to(device)
            total = torch.zeros((), dtype=torch.float32, device=device)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                loss = criterion(module(Xt[idx], generator=dropout_gen), yt[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * idx.shape[0]
            train_loss = float(total) / n
            self.loss_curve_.append(train_loss)
            self.n_iter_ = epoch + 1
            monitored = train_loss
            if validation is not None:
                module.eval()
                with torch.no_grad():
                    monitored = float(criterion(module(validation[0]), validation[1]))
                self.validation_loss_curve_.append(monitored)
            if self.verbose:
                extra = f", validation loss = {monitored:.6f}" if validation is not None else ""
                print(f"Epoch {epoch + 1}, loss = {train_loss:.6f}{extra}", flush=True)

            no_improvement = no_improvement + 1 if monitored > best - self.tol else 0
            if monitored < best:
                best = monitored
                if validation is not None:
                    best_state = copy.deepcopy(module.state_dict())
            if not math.isfinite(train_loss):
                logger.info("the training loss is %s at epoch %d; stopping.", train_loss, epoch + 1)
                break
            if no_improvement >= self.n_iter_no_change:
                converged = True
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        self.best_loss_ = float(best)
        logger.debug(
            "trained for %d epochs (%s); best loss %.6f",
            self.n_iter_,
            "converged" if converged else "max_epochs reached",
            self.best_loss_,
        )

    def _check_predict_input(self, X: Any) -> np.ndarray:
        check_fitted(self, "classes_")
        return validate_data(self, X, dtype=np.float32, order="C", reset=False)

    def _inference_module(self) -> tuple[Any, str]:
        """The network, eval mode, in the inference dtype (a float64 copy where supported)."""
        import torch

        device = self.device_
        module = self.module_
        dtype = _inference_dtype(device)
        if dtype != torch.float32:
            module = copy.deepcopy(module).to(dtype)
        return module.eval(), device

    def _chunks(self, X: np.ndarray, device: str) -> Iterator[Any]:
        dtype = _inference_dtype(device)
        for start in range(0, X.shape[0], _INFERENCE_CHUNK):
            yield _to_tensor(X[start : start + _INFERENCE_CHUNK], device, dtype)

    @staticmethod
    def _numpy(parts: list[Any], *, axis: int) -> np.ndarray:
        import torch

        out = torch.cat(parts, dim=axis) if len(parts) > 1 else parts[0]
        return out.cpu().numpy()
