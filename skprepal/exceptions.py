"""Exceptions raised by skprepal.

Every error derives from :class:`SkprepalError` and from the builtin or scikit-learn error a caller
would already catch (``ValueError``, ``FileNotFoundError``, ``NotFittedError``), so existing
``except`` clauses keep working.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "SkprepalError",
    "InvalidInputError",
    "ModelNotFoundError",
    "DataNotFoundError",
    "CacheError",
    "NotFittedError",
    "SessionStorageError",
]


class SkprepalError(Exception):
    """Base class of every error raised by skprepal."""


class InvalidInputError(SkprepalError, ValueError):
    """An argument or an input array is not of a form skprepal accepts."""


class ModelNotFoundError(SkprepalError, FileNotFoundError):
    """A model id or folder could not be resolved to loadable weights."""


class DataNotFoundError(SkprepalError, FileNotFoundError):
    """A benchmark data set is not where skprepal looked for it."""


class CacheError(SkprepalError, RuntimeError):
    """The on-disk embedding cache cannot be opened or written."""


class NotFittedError(SkprepalError, _SklearnNotFittedError):
    """An estimator was used before ``fit``."""


class SessionStorageError(SkprepalError, OSError):
    """A labeling session's file cannot be written (read-only, disk full): nothing was saved."""
