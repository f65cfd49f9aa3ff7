"""Labeling sessions: crash-safe, resumable labeling projects with a model in the loop.

A :class:`LabelingSession` keeps the texts, the label set, the settings and an append-only journal
of answers in one SQLite file; ``skprepal label`` serves it as a local web page, and
``skprepal label-studio-backend`` serves it to Label Studio as its ML backend. Labels move in and
out in Label Studio's, Prodigy's and Argilla's formats (:func:`import_labels`,
:meth:`LabelingSession.export`).
"""

from skprepal.labeling._formats import label_studio_config
from skprepal.labeling._importers import IMPORT_FORMATS, import_labels
from skprepal.labeling._label_studio import label_studio_backend, serve_label_studio_backend
from skprepal.labeling._session import EXPORT_FORMATS, LabelingSession

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "LabelingSession",
    "import_labels",
    "label_studio_backend",
    "label_studio_config",
    "serve_label_studio_backend",
]
