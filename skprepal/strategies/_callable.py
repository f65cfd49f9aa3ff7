"""Plain functions as strategies: the user's callables, and modAL's query functions as they are."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import QueryStrategy

__all__ = ["FunctionStrategy", "ModALStrategy", "is_modal_function"]


def is_modal_function(func: Any) -> bool:
    """Whether ``func`` is one of modAL's query functions (they take ``n_instances``)."""
    module = getattr(func, "__module__", "") or ""
    return module.split(".")[0] == "modAL"


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or type(func).__name__


class FunctionStrategy(QueryStrategy):
    """Any callable ``f(estimator, X_pool, n, **context) -> indices`` as a strategy.

    Context keys the function does not declare are not passed, so ``f(estimator, X_pool, n)``
    works as well as ``f(estimator, X_pool, n, **context)``.

    Parameters
    ----------
    func : callable
        The user's function.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"func": [callable]}

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    @property
    def name(self) -> str:  # type: ignore[override]
        return _name(self.func)

    def _accepted(self, context: dict[str, Any]) -> dict[str, Any]:
        try:
            parameters = inspect.signature(self.func).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature get everything
            return context
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return context
        names = {p.name for p in parameters}
        return {k: v for k, v in context.items() if k in names}

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        return self.func(estimator, X_pool, n, **self._accepted(context))


class ModALStrategy(QueryStrategy):
    """A modAL query function (``entropy_sampling``, ``margin_sampling``...) used as it is.

    modAL's functions take ``(classifier, X, n_instances=...)`` and, depending on the function
    and version, return the indices alone, ``(indices, scores)`` or ``(indices, X[indices])``.
    The result is inspected explicitly: a tuple's first element must be the indices, checked
    against the pool, never unpacked blindly.

    Parameters
    ----------
    func : callable
        The modAL function.
    **kwargs
        Extra keyword arguments for it (e.g. ``random_tie_break=True``).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"func": [callable]}

    def __init__(self, func: Callable[..., Any], **kwargs: Any) -> None:
        self.func = func
        self.kwargs = kwargs

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"modAL {_name(self.func)}"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"func": self.func, **self.kwargs}

    def set_params(self, **params: Any) -> ModALStrategy:
        if "func" in params:
            self.func = params.pop("func")
        self.kwargs.update(params)
        return self

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        result = self.func(estimator, X_pool, n_instances=n, **self.kwargs)
        if isinstance(result, tuple):
            if len(result) != 2:
                raise InvalidInputError(
                    f"modAL function {_name(self.func)} returned a tuple of {len(result)} items; "
                    "expected indices, (indices, scores) or (indices, samples)."
                )
            result = result[0]
        return np.asarray(result).ravel()
