"""Classifier heads for the active-learning loop, trained on frozen embeddings."""

from skprepal.heads._mlp import TorchMLPClassifier

__all__ = ["TorchMLPClassifier"]
