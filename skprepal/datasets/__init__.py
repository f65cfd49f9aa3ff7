"""Data set loaders: the public text-classification benchmarks read from ``../shared/data``."""

from skprepal.datasets._benchmark_data import (
    get_data_home,
    load_ag_news,
    load_imdb,
    load_qnli,
    load_sst2,
    load_trec,
)

__all__ = [
    "get_data_home",
    "load_ag_news",
    "load_imdb",
    "load_qnli",
    "load_sst2",
    "load_trec",
]
