"""Several proposals from one acquisition: the candidates of a model-based proposal, ranked
again by expected improvement after each pick is fantasised (kriging believer), so the next
trials take the runners-up without fitting and predicting again.

A fresh proposal costs a GP prediction over hundreds of candidates and a local search; a pick
from a batch costs one rank-1 update of the candidates' posterior variance, O(candidates x
observations). The posterior mean stays as it was (a believer's fantasy is its own mean), the
variance near each pick shrinks, so later picks spread out as concurrent proposals do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._bayesopt_parts import expected_improvement
from ._blas import product
from ._gp import Kernel, Scratch


class ProposalBatch:
    """The candidates of one acquisition and their posterior, updated pick by pick.

    ``candidates`` are the encoded configurations and ``inputs`` what the ``kernel`` sees
    (with the resource column in multi-fidelity use); ``factors`` is ``L^-1 K(X, inputs)``
    for the Cholesky factor ``L`` of the training covariance; ``noise`` is the diagonal added
    to a fantasy (the model's noise and jitter). The batch owns ``variance`` (updated in
    place). ``scratch`` holds the candidates' prior covariance: a searcher passes the same
    one to each of its batches (only the latest is used), so that matrix, megabytes for a
    pool of hundreds, is not allocated afresh each time (a fresh one page-faults in: 10 ms
    instead of 3 for 650 candidates). ``weights`` (one per candidate) multiply EI, as a
    searcher's acquisition weights do (see ``BayesOptSearcher._acquisition_weights``).
    """

    def __init__(self, candidates: np.ndarray, inputs: np.ndarray, mean: np.ndarray,
                 variance: np.ndarray, factors: np.ndarray, kernel: Kernel, noise: float,
                 incumbent: float, size: int, context: object, best: float,
                 scratch: Scratch | None = None, weights: np.ndarray | None = None) -> None:
        self.candidates, self.inputs = candidates, inputs
        self.mean, self.variance, self.factors = mean, variance, factors
        self.kernel, self.noise = kernel, noise
        self._scratch = Scratch() if scratch is None else scratch
        self.incumbent = incumbent
        # EI, mean and sd of the last pick, before it was fantasised
        self.picked_ei = self.picked_mean = self.picked_std = 0.0
        self.left = size  # picks this batch may still give
        self.context = context  # what the batch was made for (level, trusted rungs, ...)
        self.best = best  # the best result observed where EI is taken, when it was made
        self.made = 0  # picks given so far
        self._updates = np.zeros((size, len(candidates)))  # u_j of each fantasised pick
        self._prior: np.ndarray | None = None  # the candidates' prior covariance, when needed
        self._excluded = np.zeros(len(candidates), dtype=bool)
        self.weights = weights  # each candidate's EI is multiplied by its weight, if given

    def expected_improvement(self) -> np.ndarray:
        """EI of every candidate under the current fantasies; -inf where excluded."""
        std = np.sqrt(np.maximum(self.variance, 1e-12))
        ei = expected_improvement(self.incumbent, self.mean, std)
        if self.weights is not None:
            ei *= self.weights
        ei[self._excluded] = -np.inf
        return ei

    def exclude(self, index: int) -> None:
        """Never pick candidate ``index`` (taken by a pending or observed configuration)."""
        self._excluded[index] = True

    def pick(self, acceptable: Callable[[int], bool]) -> int | None:
        """The index of the candidate with the largest EI that ``acceptable`` accepts (others
        it rejects are excluded on the way), fantasised at its mean; None when none is left."""
        if self.left <= 0:
            return None
        ei = self.expected_improvement()
        while True:
            index = int(ei.argmax())
            if ei[index] == -np.inf:
                return None
            if acceptable(index):
                break
            self.exclude(index)
            ei[index] = -np.inf
        self.picked_ei, self.picked_mean = float(ei[index]), float(self.mean[index])
        self.picked_std = math.sqrt(max(float(self.variance[index]), 1e-12))
        if self.left > 1:  # a later pick will look at the posterior
            self._fantasise(index)
        else:
            self.exclude(index)
        self.left -= 1
        self.made += 1
        return index

    def _fantasise(self, index: int) -> None:
        """Condition the candidates' posterior on candidate ``index`` observed at its mean."""
        if self._prior is None:  # one kernel matrix for the batch, not a column per pick
            self._prior = self.kernel.cross(self.inputs, self.inputs, self._scratch)
        covariance = self._prior[index] - product(self.factors[:, index], self.factors)
        earlier = self._updates[:self.made]
        if len(earlier):
            covariance -= product(earlier[:, index], earlier)
        scale = float(covariance[index]) + self.noise
        update = self._updates[self.made]
        np.divide(covariance, math.sqrt(max(scale, 1e-12)), out=update)
        self.variance -= np.multiply(update, update, out=covariance)
        self.incumbent = min(self.incumbent, float(self.mean[index]))
        self.exclude(index)
