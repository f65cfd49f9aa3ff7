"""skprepal: active learning for text classification on frozen pretrained representations.

PRepAL (Vysogorets & Gopal, 2024) embeds the unlabeled pool once with a frozen pretrained encoder,
runs the whole active-learning loop with a light head on those fixed vectors, and fine-tunes a full
model only once, on the acquired labels.
"""

from skprepal.embedding import FrozenLLMTransformer
from skprepal.finetune import TransferFineTuner
from skprepal.heads import TorchMLPClassifier
from skprepal.learner import PRepALLearner

__version__ = "0.1.0.dev0"

__all__ = [
    "FrozenLLMTransformer",
    "PRepALLearner",
    "TorchMLPClassifier",
    "TransferFineTuner",
    "__version__",
]
