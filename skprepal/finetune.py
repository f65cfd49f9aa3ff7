"""TransferFineTuner: fine-tune any Hugging Face model on the acquired labels.

PRepAL's last step: the labels chosen on frozen features train a full model, the same backbone
or another one. Training runs on the Hugging Face ``Trainer``; prediction reuses skprepal's
length-sorted batching.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state, column_or_1d

from skprepal._compat import Interval, StrOptions, fit_context
from skprepal._hf import (
    DEFAULT_MODEL,
    TRAINING_PRECISIONS,
    check_precision,
    effective_max_length,
    length_sorted_batches,
    load_tokenizer,
    read_encoder_spec,
    resolve_device,
    resolve_model_folder,
    resolve_precision,
    tokenize,
)
from skprepal._training import class_weights, stratified_split
from skprepal._validation import check_fitted, validate_texts
from skprepal.exceptions import InvalidInputError, ModelNotFoundError

__all__ = ["TransferFineTuner"]

logger = logging.getLogger(__name__)

_META_FILE = "skprepal_finetuner.json"
_PARAMS_SAVED = (
    "epochs", "min_steps", "learning_rate", "batch_size", "max_length", "weight_decay",
    "warmup_ratio", "validation_fraction", "early_stopping_patience", "device", "random_state",
    "precision",
)


@contextlib.contextmanager
def _global_rng_untouched() -> Iterator[None]:
    """Restore Python's, numpy's and torch's global RNG state: ``Trainer`` seeds them globally."""
    import torch

    # The legacy global numpy RNG is the very state Trainer reseeds, so no Generator can stand in.
    state = (random.getstate(), np.random.get_state(), torch.get_rng_state())  # noqa: NPY002
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])  # noqa: NPY002
        torch.set_rng_state(state[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _training_arguments(**kwargs: Any) -> Any:
    """``TrainingArguments`` across transformers 4.x and 5.x, whose names differ."""
    from transformers import TrainingArguments

    accepted = set(inspect.signature(TrainingArguments.__init__).parameters)
    ratio = kwargs.pop("warmup_ratio")
    if "warmup_ratio" in accepted:
        kwargs["warmup_ratio"] = ratio
    else:  # 5.x: a warmup_steps below 1 is a ratio of the total steps
        kwargs["warmup_steps"] = ratio
    if "group_by_length" in accepted:
        kwargs["group_by_length"] = True
    elif "train_sampling_strategy" in accepted:
        kwargs["train_sampling_strategy"] = "group_by_length"
    return TrainingArguments(**{k: v for k, v in kwargs.items() if k in accepted})


def _classes_to_json(classes: np.ndarray) -> dict[str, Any]:
    dtype = classes.dtype
    kind = "object" if dtype.kind in "OUS" else dtype.str
    return {"values": classes.tolist(), "dtype": kind}


def _classes_from_json(data: dict[str, Any]) -> np.ndarray:
    if data["dtype"] == "object":
        out = np.empty(len(data["values"]), dtype=object)
        out[:] = data["values"]
        return out
    return np.asarray(data["values"], dtype=np.dtype(data["dtype"]))


def _missing_labels(y: np.ndarray) -> np.ndarray:
    """Rows of ``y`` whose label is None or NaN."""
    if y.dtype.kind == "f":
        return np.flatnonzero(np.isnan(y))
    if y.dtype.kind != "O":
        return np.empty(0, dtype=np.intp)
    return np.array(
        [
            i
            for i, value in enumerate(y)
            if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))
        ],
        dtype=np.intp,
    )


def _encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(y, return_inverse=True)``, with clear errors for labels it cannot sort.

    A missing label would otherwise end in numpy's "'<' not supported" TypeError (None among
    strings) or silently become a class of its own (NaN among numbers).
    """
    missing = _missing_labels(y)
    if missing.size:
        first = int(missing[0])
        shown = ", ".join(map(str, missing[:5].tolist())) + (", ..." if missing.size > 5 else "")
        raise InvalidInputError(
            f"y[{first}] is {'None' if y[first] is None else 'NaN'}, but every text given to fit "
            f"needs a label ({missing.size} missing in all, at rows {shown}). Drop the unlabeled "
            "rows before fit, or label them; PRepALLearner is the estimator that takes unlabeled "
            "rows (marked with its missing_label)."
        )
    try:
        return np.unique(y, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(value).__name__ for value in y})
        raise InvalidInputError(
            f"y mixes labels of types {kinds} that cannot be sorted against each other ({exc}); "
            "give every label the same type, for example all str."
        ) from exc


class TransferFineTuner(ClassifierMixin, BaseEstimator):
    """Fine-tune a Hugging Face model for text classification on (acquired) labeled texts.

    ``fit`` loads ``AutoModelForSequenceClassification`` from a hub id or a local folder (a
    sentence-transformers folder works too: its transformer is used) and trains it with the
    Hugging Face ``Trainer``: AdamW with linear warmup and decay, batches grouped by length.

    Parameters
    ----------
    model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        Hub id or local folder of the backbone. The default resolves to the packaged copy.
    epochs : float, default=3
        Training epochs.
    min_steps : int or None, default=320
        Train for at least this many optimizer steps, raising ``epochs`` (fractionally) where
        they fall short; None trains ``epochs`` whatever the size. With few labels a fixed
        number of epochs is only a handful of steps (500 texts in batches of 16 for 3 epochs: 96
        steps), and an actively acquired set, full of hard examples, needs more: fine-tuned for
        3 epochs, MiniLM on margin sampling's 500 SST-2 labels trailed random's 500 by 6 points;
        for 10 epochs it was level (``benchmarks/README.md``, ``protocols.py``). The default 320
        is those 10 epochs at 500 texts, and leaves 3 epochs from 1,700 texts up (3 epochs over
        2,000 are 375 steps). The epochs used are in ``epochs_``.
    learning_rate : float, default=5e-5
        Peak learning rate of AdamW.
    batch_size : int, default=16
        Training batch size (prediction uses twice as many).
    max_length : int, default=256
        Truncation length in tokens, or the model's own limit when lower.
    weight_decay : float, default=0.01
        AdamW weight decay.
    warmup_ratio : float, default=0.1
        Share of the training steps spent warming the learning rate up.
    validation_fraction : float or None, default=None
        Hold out this share of the data (stratified) and report its loss every epoch.
    early_stopping_patience : int or None, default=None
        Stop after this many epochs without a lower validation loss and keep the best epoch's
        weights; needs ``validation_fraction``.
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes in the cross-entropy loss, as in scikit-learn.
    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Mixed precision of training, through the ``Trainer``'s own ``bf16`` / ``fp16`` options
        (autocast, fp32 master weights; fp16 adds loss scaling on a GPU). ``"auto"`` picks bf16
        on CPUs with AMX-BF16 (1.29x faster at the same accuracy, measured) and on CUDA GPUs
        of compute capability 8.0 or more, fp16 on 7.x GPUs, fp32 elsewhere (as
        :class:`~skprepal.FrozenLLMTransformer` does; the rule is in ``benchmarks/README.md``).
        Prediction runs in fp32. The precision in effect is in ``precision_``.
    output_dir : str, path-like or None, default=None
        Where the ``Trainer`` writes checkpoints. None uses a temporary folder removed after
        ``fit``, so nothing is left behind.
    random_state : int, RandomState or None, default=None
        Seeds the classifier head's initialisation, the shuffling and dropout; an int makes CPU
        runs repeatable. The global RNGs are left as they were.

    Attributes
    ----------
    classes_ : ndarray
        The labels, in ``predict_proba`` column order (any type: ints, strings, ...).
    model_ : transformers.PreTrainedModel
        The fine-tuned model, in eval mode.
    tokenizer_ : transformers.PreTrainedTokenizerBase
        Its tokenizer.
    model_path_ : str
        The folder the backbone was loaded from.
    max_length_ : int
        The truncation length in effect.
    epochs_ : float
        The epochs trained: ``epochs``, raised where ``min_steps`` asks for more.
    device_ : str
        The device the model is on.
    precision_ : str
        The training precision in effect (``"auto"`` resolved for this machine).
    log_history_ : list of dict
        The ``Trainer``'s log: training loss per epoch, validation loss when held out.
    n_features_in_ : int
        2 when fitted on text pairs; absent for single texts.

    See Also
    --------
    skprepal.PRepALLearner : Acquires the labels this estimator trains on.

    References
    ----------
    .. [1] A. Vysogorets and A. Gopal, "Towards Efficient Active Learning in NLP via Pretrained
       Representations", arXiv:2402.15613, 2024.
    .. [2] T. Wolf et al., "Transformers: State-of-the-Art Natural Language Processing",
       EMNLP 2020 (System Demonstrations).

    Examples
    --------
    >>> from skprepal import TransferFineTuner
    >>> texts = ["refund my card", "cannot log in", "charged twice", "password reset fails"] * 4
    >>> labels = ["billing", "access", "billing", "access"] * 4
    >>> clf = TransferFineTuner(epochs=1, batch_size=8, device="cpu", random_state=0)
    >>> clf.fit(texts, labels).predict(["refund please"]).shape
    (1,)
    >>> list(clf.classes_)
    ['access', 'billing']
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "model": [str, os.PathLike],
        "epochs": [Interval(Real, 0, None, closed="neither")],
        "min_steps": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_ratio": [Interval(Real, 0, 1, closed="both")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping_patience": [Interval(Integral, 1, None, closed="left"), None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "device": [str],
        "precision": [str],
        "output_dir": [str, os.PathLike, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        epochs: float = 3,
        min_steps: int | None = 320,
        learning_rate: float = 5e-5,
        batch_size: int = 16,
        max_length: int = 256,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        validation_fraction: float | None = None,
        early_stopping_patience: int | None = None,
        class_weight: Any = None,
        device: str = "auto",
        output_dir: str | os.PathLike | None = None,
        random_state: Any = None,
        precision: str = "auto",
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.min_steps = min_steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.class_weight = class_weight
        self.device = device
        self.output_dir = output_dir
        self.random_state = random_state
        self.precision = precision

    # -- fitting ---------------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> TransferFineTuner:
        """Fine-tune the model on texts and their labels.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts of shape (n_samples,), or pairs of shape (n_samples, 2).
        y : array-like of shape (n_samples,)
            Labels of any type; at least two classes.

        Returns
        -------
        self : TransferFineTuner
        """
        texts = validate_texts(self, X, reset=True)
        if y is None:
            raise InvalidInputError(
                "TransferFineTuner requires y to be passed, but the target y is None."
            )
        y = column_or_1d(np.asarray(y, dtype=object if np.asarray(y).dtype.kind in "US" else None))
        if y.shape[0] != texts.shape[0]:
            raise InvalidInputError(f"X has {texts.shape[0]} texts but y has {y.shape[0]} labels.")
        classes, y_index = _encode_labels(y)
        if classes.size < 2:
            raise InvalidInputError(
                f"y holds a single class ({classes[0]!r}); fine-tuning a classifier needs at "
                "least two. Label more varied texts first."
            )
        if self.early_stopping_patience is not None and self.validation_fraction is None:
            raise InvalidInputError(
                "early_stopping_patience needs held-out data: set validation_fraction too."
            )
        check_precision(self.precision, TRAINING_PRECISIONS)
        device = resolve_device(self.device)
        precision = resolve_precision(
            self.precision, device, allowed=TRAINING_PRECISIONS, training=True
        )
        folder = resolve_model_folder(self.model)
        spec = read_encoder_spec(folder)
        tokenizer = load_tokenizer(spec.transformer_folder)
        self.classes_ = classes
        self.model_path_ = str(folder)
        self.device_ = device
        self.precision_ = precision
        self.max_length_ = effective_max_length(self.max_length, tokenizer, spec)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train_rows, eval_rows = self._split(y_index, seed)
        self.epochs_ = float(self.epochs)
        if self.min_steps is not None:
            steps_per_epoch = math.ceil(len(train_rows) / self.batch_size)
            self.epochs_ = max(self.epochs_, self.min_steps / steps_per_epoch)
        encoded = tokenize(tokenizer, texts, self.max_length_, lower_case=spec.do_lower_case)
        dataset = [
            {**{name: values[i] for name, values in encoded.items()}, "labels": int(y_index[i])}
            for i in range(len(texts))
        ]
        with self._output_dir() as output_dir, _global_rng_untouched():
            trainer = self._trainer(
                spec.transformer_folder, tokenizer, dataset, train_rows, eval_rows, y_index, seed,
                output_dir, device,
            )
            trainer.train()
            model = trainer.model
            if self.precision_ != "fp32":
                # accelerate wraps the forward of a mixed-precision model in autocast; the
                # fitted model predicts in fp32, as the same weights saved and loaded do.
                accelerator = getattr(trainer, "accelerator", None)
                if accelerator is not None:
                    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
        model.eval()
        self.model_ = model.to(device)
        self.tokenizer_ = tokenizer
        self._lower_case = spec.do_lower_case
        self.log_history_ = list(trainer.state.log_history)
        return self

    def _split(self, y_index: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        if self.validation_fraction is None:
            return np.arange(len(y_index)), None
        return stratified_split(y_index, self.validation_fraction, seed)

    @contextlib.contextmanager
    def _output_dir(self) -> Iterator[str]:
        if self.output_dir is not None:
            Path(self.output_dir).mkdir(parents=True, exist_ok=True)
            yield str(self.output_dir)
            return
        folder = tempfile.mkdtemp(prefix="skprepal-finetune-")
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _trainer(
        self, folder, tokenizer, dataset, train_rows, eval_rows, y_index, seed, output_dir, device
    ):
        from transformers import (
            AutoModelForSequenceClassification,
            DataCollatorWithPadding,
            EarlyStoppingCallback,
            PrinterCallback,
            Trainer,
        )
        from transformers.utils import logging as hf_logging

        id2label = {i: str(c) for i, c in enumerate(self.classes_)}
        label2id = {name: i for i, name in id2label.items()}

        def model_init() -> Any:
            # Trainer seeds before calling this, so the new classifier head is repeatable.
            # The new classifier head is expected to be missing from the checkpoint: transformers'
            # load report saying so is noise here.
            bars_were_enabled = hf_logging.is_progress_bar_enabled()
            verbosity = hf_logging.get_verbosity()
            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
            try:
                return AutoModelForSequenceClassification.from_pretrained(
                    folder,
                    num_labels=len(self.classes_),
                    id2label=id2label,
                    label2id=label2id,
                    trust_remote_code=False,
                )
            except (OSError, ValueError) as exc:
                raise ModelNotFoundError(
                    f"cannot load {str(folder)!r} for classification: {exc}"
                ) from exc
            finally:
                hf_logging.set_verbosity(verbosity)
                if bars_were_enabled:
                    hf_logging.enable_progress_bar()

        validating = eval_rows is not None
        stopping = self.early_stopping_patience is not None
        args = _training_arguments(
            output_dir=output_dir,
            num_train_epochs=self.epochs_,
            learning_rate=float(self.learning_rate),
            per_device_train_batch_size=int(self.batch_size),
            per_device_eval_batch_size=2 * int(self.batch_size),
            weight_decay=float(self.weight_decay),
            warmup_ratio=float(self.warmup_ratio),
            lr_scheduler_type="linear",
            eval_strategy="epoch" if validating else "no",
            save_strategy="epoch" if stopping else "no",
            save_total_limit=1 if stopping else None,
            load_best_model_at_end=stopping,
            metric_for_best_model="eval_loss" if stopping else None,
            greater_is_better=False if stopping else None,
            logging_strategy="epoch",
            report_to="none",
            disable_tqdm=not sys.stderr.isatty(),
            use_cpu=device == "cpu",
            # The Trainer's own mixed precision: autocast around forward and loss, fp32 weights.
            bf16=self.precision_ == "bf16",
            fp16=self.precision_ == "fp16",
            seed=seed,
            data_seed=seed,
            dataloader_pin_memory=False,
        )
        loss = self._weighted_loss(y_index, device) if self.class_weight is not None else None
        trainer = Trainer(
            model_init=model_init,
            args=args,
            train_dataset=[dataset[i] for i in train_rows],
            eval_dataset=[dataset[i] for i in eval_rows] if validating else None,
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[EarlyStoppingCallback(self.early_stopping_patience)] if stopping else None,
            compute_loss_func=loss,
        )
        # Without progress bars the Trainer prints its log dicts to stdout; they stay in
        # log_history_ instead.
        trainer.remove_callback(PrinterCallback)
        return trainer

    def _weighted_loss(self, y_index: np.ndarray, device: str) -> Any:
        import torch

        weights = class_weights(self.class_weight, self.classes_, y_index)
        self.class_weight_ = weights
        weight = torch.tensor(weights, dtype=torch.float32)

        def weighted_cross_entropy(
            outputs: Any, labels: Any, num_items_in_batch: Any = None
        ) -> Any:
            logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
            return torch.nn.functional.cross_entropy(
                logits.float(), labels, weight=weight.to(logits.device)
            )

        return weighted_cross_entropy

    # -- prediction ------------------------------------------------------------------------

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts, or pairs as in ``fit``.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_classes)
        """
        import torch
        from tqdm.auto import tqdm

        check_fitted(self, "model_")
        texts = validate_texts(self, X, reset=False)
        out = np.empty((len(texts), len(self.classes_)), dtype=np.float64)
        show = len(texts) >= 1000 and sys.stderr.isatty()
        with (
            torch.inference_mode(),
            tqdm(
                total=len(texts), desc="Predicting", unit="text", disable=not show, leave=False
            ) as bar,
        ):
            for rows, inputs in length_sorted_batches(
                self.tokenizer_,
                texts,
                max_length=self.max_length_,
                batch_size=2 * int(self.batch_size),
                lower_case=getattr(self, "_lower_case", False),
            ):
                tensors = {k: torch.from_numpy(v).to(self.model_.device) for k, v in inputs.items()}
                logits = self.model_(**tensors).logits
                out[rows] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
                bar.update(len(rows))
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Most probable label of each text."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- persistence -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fine-tuned model to a folder plain ``transformers`` can open.

        ``AutoModelForSequenceClassification.from_pretrained(path)`` loads it (labels in
        ``config.id2label``); :meth:`load` restores this estimator with identical predictions.

        Parameters
        ----------
        path : str or path-like
            Folder to write; created if missing.

        Returns
        -------
        Path
            The folder.
        """
        check_fitted(self, "model_")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(folder)
        self.tokenizer_.save_pretrained(folder)
        meta = {
            "format": 1,
            "params": {name: getattr(self, name) for name in _PARAMS_SAVED},
            "model": str(self.model),
            "classes": _classes_to_json(np.asarray(self.classes_)),
            "max_length": self.max_length_,
            "epochs": self.epochs_,
            "precision": getattr(self, "precision_", "fp32"),
            "lower_case": bool(getattr(self, "_lower_case", False)),
            "n_features_in": getattr(self, "n_features_in_", None),
        }
        (folder / _META_FILE).write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "auto") -> TransferFineTuner:
        """Restore an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            The folder.
        device : str, default="auto"
            Where to put the model.

        Returns
        -------
        TransferFineTuner
            Fitted, with the saved classes and settings.
        """
        folder = Path(path)
        meta_file = folder / _META_FILE
        if not meta_file.is_file():
            raise ModelNotFoundError(
                f"{str(folder)!r} holds no saved TransferFineTuner ({_META_FILE} is missing); "
                "write one with TransferFineTuner.save(path)."
            )
        meta = json.loads(meta_file.read_text())
        params = {k: v for k, v in meta["params"].items() if k != "device"}
        estimator = cls(model=meta["model"], device=device, **params)
        estimator.device_ = resolve_device(device)
        # The tokenizer first: loading it refuses a folder that asks for remote code before
        # transformers reads the model's config.
        estimator.tokenizer_ = load_tokenizer(folder)
        from transformers import AutoModelForSequenceClassification

        estimator.model_ = (
            AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=False)
            .to(estimator.device_)
            .eval()
        )
        estimator.classes_ = _classes_from_json(meta["classes"])
        estimator.max_length_ = meta["max_length"]
        estimator.epochs_ = meta.get("epochs", estimator.epochs)
        estimator.precision_ = meta.get("precision", "fp32")
        estimator.model_path_ = str(folder)
        estimator.log_history_ = []
        estimator._lower_case = meta["lower_case"]
        if meta.get("n_features_in") is not None:
            estimator.n_features_in_ = meta["n_features_in"]
        return estimator

    # -- helpers ---------------------------------------------------------------------------

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
