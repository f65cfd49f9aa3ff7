"""Data sets: the samples shipped with skprepal, and loaders for the benchmarks in
``../shared/data``."""

from skprepal.datasets._benchmark_data import (
    get_data_home,
    load_ag_news,
    load_imdb,
    load_qnli,
    load_sst2,
    load_trec,
)
from skprepal.datasets._sample import load_sample_texts, load_support_tickets

__all__ = [
    "get_data_home",
    "load_ag_news",
    "load_imdb",
    "load_qnli",
    "load_sample_texts",
    "load_sst2",
    "load_support_tickets",
    "load_trec",
]
