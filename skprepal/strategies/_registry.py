"""Strategy names and aliases, and turning whatever the user passed into a strategy callable."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import QueryStrategy

__all__ = ["register_strategy", "available_strategies", "resolve_strategy"]

_REGISTRY: dict[str, type[QueryStrategy]] = {}
_ALIASES: dict[str, str] = {}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_strategy(name: str, *aliases: str) -> Callable[[type], type]:
    """Class decorator: make a :class:`QueryStrategy` available by ``name`` and ``aliases``.

    Examples
    --------
    >>> from skprepal.strategies import available_strategies
    >>> available_strategies()["margin"]
    ['breaking_ties', 'smallest_margin']
    """

    def decorate(cls: type[QueryStrategy]) -> type[QueryStrategy]:
        cls.name = name
        _REGISTRY[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls

    return decorate


def available_strategies() -> dict[str, list[str]]:
    """Registered strategy names, each with its aliases."""
    return {
        name: sorted(a for a, target in _ALIASES.items() if target == name)
        for name in sorted(_REGISTRY)
    }


def _from_name(name: str) -> QueryStrategy:
    key = _normalise(name)
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]()
    known = sorted([*_REGISTRY, *_ALIASES])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidInputError(
        f"query_strategy={name!r} is not a known strategy; "
        f"choose one of {', '.join(sorted(_REGISTRY))}"
        f" (aliases: {', '.join(sorted(_ALIASES))}), pass a strategy object, or any callable "
        f"f(estimator, X_pool, n, **context) -> indices.{hint}"
    )


def resolve_strategy(spec: Any) -> QueryStrategy:
    """Return a strategy object for a name, a strategy object, a modAL function or a callable.

    Parameters
    ----------
    spec : str, QueryStrategy or callable
        A registered name or alias (``"entropy"``, ``"max_entropy"``...), a strategy object, a
        modAL query function (``modAL.uncertainty.entropy_sampling``...) used as it is, or any
        callable ``f(estimator, X_pool, n, **context) -> indices``.

    Returns
    -------
    QueryStrategy
        A callable strategy whose result is validated.
    """
    from skprepal.strategies._callable import FunctionStrategy, ModALStrategy, is_modal_function

    if isinstance(spec, str):
        return _from_name(spec)
    if isinstance(spec, QueryStrategy):
        return spec
    if callable(spec):
        return ModALStrategy(spec) if is_modal_function(spec) else FunctionStrategy(spec)
    raise InvalidInputError(
        f"query_strategy={spec!r} is neither a strategy name, a strategy object nor a callable."
    )
