"""Estimators as JSON: how a session file remembers its encoder and learner without pickle.

A session must never unpickle (a session file from someone else could run any code). So the
settings are stored as plain data: an estimator becomes ``{"class": "module.Name", "params":
{...}}``, recursively, and is rebuilt only from classes of scikit-learn and skprepal.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from skprepal.exceptions import InvalidInputError

__all__ = ["to_spec", "from_spec"]

# Only these packages' classes are rebuilt from a session file.
_TRUSTED_PACKAGES = ("sklearn", "skprepal")


def to_spec(value: Any, *, name: str = "value") -> Any:
    """``value`` as JSON-serialisable data; estimators by class path and parameters.

    Raises
    ------
    InvalidInputError
        For a value that cannot be stored as data (a function, an open file, a class from
        another package), naming the parameter.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_spec(v, name=f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [to_spec(v, name=name) for v in value.tolist()]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_spec(v, name=f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, BaseEstimator):
        cls = type(value)
        path = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__module__.split(".")[0] not in _TRUSTED_PACKAGES:
            raise InvalidInputError(
                f"{name} is a {path}; a session file stores only scikit-learn and skprepal "
                "estimators (it never pickles), so use one of those or set it after opening."
            )
        params = value.get_params(deep=False)
        return {
            "class": path,
            "params": {k: to_spec(v, name=f"{name}.{k}") for k, v in params.items()},
        }
    if hasattr(value, "__fspath__"):
        return str(value)
    raise InvalidInputError(
        f"{name}={value!r} cannot be stored in a session file: use a strategy name, a number, a "
        "string or a scikit-learn / skprepal estimator (never a function or an open object)."
    )


def from_spec(spec: Any) -> Any:
    """Rebuild what :func:`to_spec` stored."""
    if isinstance(spec, list):
        return [from_spec(v) for v in spec]
    if isinstance(spec, dict) and set(spec) == {"class", "params"}:
        module, _, qualname = spec["class"].rpartition(".")
        if module.split(".")[0] not in _TRUSTED_PACKAGES:
            raise InvalidInputError(
                f"the session file names class {spec['class']!r}, outside scikit-learn and "
                "skprepal; it is not loaded."
            )
        cls = getattr(importlib.import_module(module), qualname, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise InvalidInputError(
                f"the session file names {spec['class']!r}, which is not an estimator class."
            )
        params = {k: from_spec(v) for k, v in spec["params"].items()}
        unknown = sorted(set(params) - set(cls._get_param_names()))
        if unknown:
            raise InvalidInputError(
                f"the session file sets {', '.join(unknown)} of {spec['class']}, which this "
                "version of skprepal does not know: it was written by a newer skprepal; "
                "upgrade to open it."
            )
        return cls(**params)
    if isinstance(spec, dict):
        return {k: from_spec(v) for k, v in spec.items()}
    return spec
