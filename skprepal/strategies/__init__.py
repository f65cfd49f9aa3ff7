"""Query strategies: which unlabeled rows to label next.

Every strategy is a callable ``f(estimator, X_pool, n, **context) -> indices``. Registered names
(see :func:`available_strategies`) give the default object; strategy objects take parameters.
"""

from skprepal.strategies._balanced import ClassBalancedMargin
from skprepal.strategies._base import QueryStrategy, RunningTopN, ScoreStrategy, top_n
from skprepal.strategies._bayesian import BALD, mutual_information
from skprepal.strategies._callable import FunctionStrategy, ModALStrategy
from skprepal.strategies._checks import check_strategy, strategy_checks
from skprepal.strategies._cluster_margin import ClusterMargin
from skprepal.strategies._contrastive import ContrastiveAL
from skprepal.strategies._discriminative import DiscriminativeAL
from skprepal.strategies._diversity import BADGE, CoreSet, KMeansSampling
from skprepal.strategies._index import VectorIndex
from skprepal.strategies._random import RandomSampling
from skprepal.strategies._registry import available_strategies, register_strategy, resolve_strategy
from skprepal.strategies._subpool import SEALS, AnchorAL
from skprepal.strategies._switch import ColdStartSwitch
from skprepal.strategies._typiclust import TypiClust
from skprepal.strategies._uncertainty import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    uncertainty,
)

__all__ = [
    "AnchorAL",
    "BADGE",
    "BALD",
    "ClassBalancedMargin",
    "ClusterMargin",
    "ColdStartSwitch",
    "ContrastiveAL",
    "CoreSet",
    "DiscriminativeAL",
    "EntropySampling",
    "FunctionStrategy",
    "KMeansSampling",
    "LeastConfidence",
    "MarginSampling",
    "ModALStrategy",
    "QueryStrategy",
    "RandomSampling",
    "ScoreStrategy",
    "VectorIndex",
    "RunningTopN",
    "SEALS",
    "TypiClust",
    "available_strategies",
    "check_strategy",
    "mutual_information",
    "register_strategy",
    "resolve_strategy",
    "strategy_checks",
    "top_n",
    "uncertainty",
]
