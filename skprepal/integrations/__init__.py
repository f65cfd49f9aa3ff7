"""Bridges to engines outside scikit-learn, each in its own optional extra.

:mod:`skprepal.integrations.ray`
    Embed a pool on a Ray cluster with Ray Data (``pip install "skprepal[ray]"``).
"""
