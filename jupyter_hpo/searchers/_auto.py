"""The default searcher, ``auto``: Gaussian-process Bayesian optimisation (``bayesopt``).

Over the search-quality benchmarks a GP is the searcher that ends best both without early
stopping (it models final results) and with it (it models rung results jointly over the
resource, as MOBSTER does); with the ``auto`` scheduler it learns only from the rungs whose
results predict the final ones. It takes ``bayesopt``'s options.
"""

from __future__ import annotations

from ._bayesopt import BayesOptSearcher


class AutoSearcher(BayesOptSearcher):
    """``bayesopt`` under the name the defaults use."""

    name = "auto"

    def describe(self) -> str:
        return f"auto: {super().describe()}"
