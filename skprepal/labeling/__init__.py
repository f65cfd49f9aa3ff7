"""Labeling sessions: crash-safe, resumable labeling projects with a model in the loop.

A :class:`LabelingSession` keeps the texts, the label set, the settings and an append-only journal
of answers in one SQLite file; ``skprepal label`` serves it as a local web page.
"""

from skprepal.labeling._session import EXPORT_FORMATS, LabelingSession

__all__ = ["EXPORT_FORMATS", "LabelingSession"]
