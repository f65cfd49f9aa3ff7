"""Evaluating acquisition orders: learning curves, overlap between strategies, plots and tables.

An active-learning run is summed up by its *order*: the row numbers of the labeled rows, in the
order they were labeled. :func:`simulation_curve` runs a simulation and returns its learning
curve, :func:`learning_curve_from_order` replays an order with any classifier (the head of the
loop, or a fine-tuned model), :func:`acquisition_overlap` compares two orders, and
:func:`plot_learning_curves` and :func:`summarize_curves` show curves over several seeds.
"""

from skprepal.evaluation._orders import acquisition_overlap, learning_curve_from_order
from skprepal.evaluation._simulation import SimulationCurve, simulation_curve
from skprepal.evaluation._summary import format_mean_std, plot_learning_curves, summarize_curves

__all__ = [
    "SimulationCurve",
    "simulation_curve",
    "learning_curve_from_order",
    "acquisition_overlap",
    "plot_learning_curves",
    "summarize_curves",
    "format_mean_std",
]
