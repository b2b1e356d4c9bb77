"""Gaussian-process Bayesian optimisation; with Hyperband, multi-fidelity as in MOBSTER.

Configurations are encoded in the unit cube: numbers through ``Domain.to_unit`` (integers at
the centre of their cell, log domains log-uniformly), categories one-hot. With FIFO the GP
models final results. With Hyperband (after ``set_fidelity``) it models every result at a rung
level jointly over (configuration, resource), the resource normalised as
``log(r / r_min) / log(max_t / r_min)``, and a new configuration maximises the expected
improvement at the *target level*: the largest rung level with at least five results (max_t
once five trials got there). That is MOBSTER's and BOHB's rule: the
acquisition is taken where the model has data, not extrapolated to max_t from a handful of
points. EI is maximised over random candidates and perturbations of the best configurations,
then refined by a coordinate search on the numeric columns. Pending trials are fantasised at
their posterior mean (kriging believer), which removes their neighbourhood from the search
while they run; only the 16 latest are, since with Hyperband's promotion variant paused trials
stay pending and may number hundreds (each has its rung results in the model already).

With Hyperband a study of a few hundred trials gives thousands of rung results, so decisions
stay cheap by summarising them: the GP conditions on at most 128 observations (at each rung
level its 16 best, then the rest by level, highest first, and within a level by a random rank
fixed when the result came in), and by default its hyperparameters are refitted on a geometric
schedule (whenever the observations have grown by half since the last fit, or by as much as one
batch of proposals may serve when that is more: MOBSTER's batches serve as many trials as were
observed, so it refits when they doubled). Without Hyperband
it conditions on at most 400 final results (the 100 best and a fixed random sample of the
others), so a study of thousands of short trials stays cheap. With Hyperband one acquisition
also serves several trials (``_proposal_batch.py``): the candidates it ranked are ranked again
after each pick is fantasised, and the next proposals take the runners-up until as many
trials as were observed (30% of them for the ``auto`` searcher) have been served, the
candidates it kept are used up (the best ``max_batch_pool`` by EI; twice the batch size for the
``auto`` searcher), a new best arrives at the target level (for ``bayesopt`` only once 100 trials
were observed: its early batches are small and soon used up), or the target level or the trusted
rungs change; the first pick is the proposal a fresh model makes. ``bayesopt``'s first fit under
Hyperband takes no random restarts and its second waits for 32 observations: fits on a handful
of rung results were half of the first 100 trials' decision CPU. BLAS keeps its threads:
limiting them for the process while a proposal runs would also slow the trials' own numpy code
in the kernel's other threads.

Stepped domains are snapped like integers: every candidate is moved to the centre of its
value's cell before EI is computed, so EI is evaluated where a trial would run. Conditional
hyperparameters are imputed as SMAC does: an inactive numeric column holds -0.5 (outside the
cube, one distinct value that the kernel keeps away from every active value) and an inactive
categorical block is all zeros. Each candidate is decoded in order (hyperparameters its
earlier values make inactive are dropped; an active one whose column still says "inactive",
as after perturbing a configuration where it was inactive, is drawn at random) and encoded
again, so the GP only ever sees encodings of real configurations.

This module holds the searcher's options and its proposal loop; the encoding, the data the
model conditions on, the acquisition and the batches are mixins in the ``_bayesopt_*.py``
modules beside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..records import finite_number
from ..space import Categorical, Int, Space
from ._base import Searcher
from ._bayesopt_acquisition import (
    _CANDIDATES,
    _CANDIDATES_MULTI,
    _REFINE_ROUNDS,
    _REFINE_STARTS,
    AcquisitionMixin,
)
from ._bayesopt_batch import _MAX_FANTASIES, BatchMixin
from ._bayesopt_encoding import _SNAP_TABLE, EncodingMixin
from ._bayesopt_model import (
    _FIT_POINTS,
    _FIT_POINTS_MULTI,
    _KEEP_BEST,
    _KEEP_BEST_FINAL,
    _MAX_DATA,
    _MAX_FINAL_DATA,
    _MIN_AT_TARGET,
    _REFIT_GROWTH,
    ModelMixin,
)
from ._bayesopt_parts import expected_improvement
from ._gp import KERNELS, GaussianProcess, Scratch
from ._options import check_bool, check_choice, check_float, check_int
from ._proposal_batch import ProposalBatch

# the tuning constants, each defined beside the code that reads it, are importable from here
__all__ = ["_BATCH_POOL", "_CANDIDATES", "_CANDIDATES_MULTI", "_FIT_POINTS", "_FIT_POINTS_MULTI",
           "_KEEP_BEST", "_KEEP_BEST_FINAL", "_MAX_DATA", "_MAX_FANTASIES", "_MAX_FINAL_DATA",
           "_MIN_AT_TARGET", "_REFINE_ROUNDS", "_REFINE_STARTS", "_REFIT_GROWTH", "_SNAP_TABLE",
           "BayesOptSearcher"]

_BATCH_POOL = 128  # a batch picks from at least this many candidates, the best by EI


class BayesOptSearcher(EncodingMixin, ModelMixin, AcquisitionMixin, BatchMixin, Searcher):
    """Matérn-5/2 ARD GP, marginal-likelihood fits, expected improvement.

    Options: ``kernel`` (``matern52``, ``matern52-res-warp``, ``exp-decay-sum``,
    ``exp-decay-combined``, ``exp-decay-delta1``; they differ only with Hyperband; the seeds'
    name ``gp_resource_kernel`` is accepted for it), ``num_init_random`` random trials before
    the model is used, hyperparameters refitted for the first ``opt_skip_init_length``
    observations (default 150; 0 with Hyperband) and then every ``opt_skip_period``-th
    (default 1; with Hyperband, when neither option is given, whenever the observations grew
    by half since the last fit, or by ``1 + batch_fraction`` when that is more; the second fit
    not before ``second_fit_from`` observations) or, with
    ``opt_skip_num_max_resource`` and Hyperband, only when a new result at ``max_t`` came
    in, ``num_candidates`` random candidates for EI (default 500; 250 with Hyperband, where
    a study makes its acquisitions by the dozen and MOBSTER's decisions took 9-10% less CPU for
    the same final regret, benchmarks/RESULTS.md; the ``auto`` searcher keeps 500), and
    ``debug_log`` to print each decision (the best result observed, the choice, EI,
    lengthscales), and ``batch_fraction``: one acquisition proposes configurations for up to
    this fraction of the trials observed so far (at least one), each later pick taken from the
    same ranked candidates after the earlier picks are fantasised (default 1 with Hyperband,
    where trials are many and short, 0.3 for the ``auto`` searcher; 0 with FIFO: a fresh model
    for every proposal; the refit options are checked at each fresh acquisition).
    """

    uses_blas = True  # GP fits and predictions: one BLAS thread while proposing

    name = "bayesopt"
    #: with Hyperband, one acquisition proposes for up to this share of the trials observed:
    #: all of them, so a batch ends when it is used up, a new best comes in where EI is taken,
    #: or the rungs the model learns from change (the ``auto`` searcher takes 0.3)
    default_batch_fraction = 1.0
    #: a batch keeps at most this many of its candidates (the best by EI; ``None``: twice its
    #: size, as the ``auto`` searcher keeps): each pick updates every kept candidate's posterior
    #: and EI, and late in a study MOBSTER's batches of all the trials observed kept all of
    #: them (about 650); with 256 a study's decisions took 12-18% less CPU for the same final
    #: regret (benchmarks/RESULTS.md)
    max_batch_pool: int | None = 256
    #: with Hyperband, a new best where EI is taken ends a batch only once this many trials
    #: were observed: before, batches are small (as many picks as trials observed) and soon
    #: used up, and ending them at each new best made most of the first 100 trials' fresh
    #: acquisitions; with the lighter early fits below, MOBSTER's decisions took about a tenth
    #: less CPU per report for the same final regret (benchmarks/RESULTS.md; ``auto``: 0)
    new_best_ends_batch_from = 100
    #: with Hyperband and the geometric refit schedule, the first fit takes no random restarts
    #: and the second waits for this many observations (0: as the schedule says; ``auto``
    #: keeps 0): fits on a handful of rung results were half of the early decisions' CPU
    second_fit_from = 32
    OPTIONS = ("kernel", "gp_resource_kernel", "num_init_random", "opt_skip_period",
               "opt_skip_init_length", "opt_skip_num_max_resource", "num_candidates",
               "debug_log", "batch_fraction")
    uses_progress = True  # models every rung result with Hyperband

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 kernel: str | None = None, num_init_random: int = 5,
                 opt_skip_period: int | None = None,
                 opt_skip_init_length: int | None = None,
                 num_candidates: int | None = None, debug_log: bool = False,
                 gp_resource_kernel: str | None = None,
                 opt_skip_num_max_resource: bool = False,
                 batch_fraction: float | None = None) -> None:
        super().__init__(space, metric, mode, seed)
        if kernel is not None and gp_resource_kernel is not None and kernel != gp_resource_kernel:
            raise ValueError(f"kernel is {kernel!r} and gp_resource_kernel is "
                             f"{gp_resource_kernel!r}, but they name the same option: give one")
        self.kernel_name = check_choice("kernel", kernel or gp_resource_kernel or "matern52",
                                        KERNELS)
        self.opt_skip_num_max_resource = check_bool("opt_skip_num_max_resource",
                                                    opt_skip_num_max_resource)
        self._fitted_at_max = -1  # results at max_t when the hyperparameters were last fitted
        self.num_init_random = check_int("num_init_random", num_init_random, 1)
        # with Hyperband and neither option given, refits follow a geometric schedule
        self._geometric = opt_skip_period is None and opt_skip_init_length is None
        self.opt_skip_period = check_int("opt_skip_period", 1 if opt_skip_period is None
                                         else opt_skip_period, 1)
        self._init_length = opt_skip_init_length
        self.opt_skip_init_length = check_int("opt_skip_init_length",
                                              150 if opt_skip_init_length is None
                                              else opt_skip_init_length, 0)
        self.num_candidates = None if num_candidates is None \
            else check_int("num_candidates", num_candidates, 10)
        self.debug_log = check_bool("debug_log", debug_log)
        self.batch_fraction = None if batch_fraction is None \
            else check_float("batch_fraction", batch_fraction, 0.0, 1.0)
        self._batch: ProposalBatch | None = None  # the proposals of the last acquisition
        self._prior_scratch = Scratch()  # where each batch keeps its candidates' prior
        # trial -> (its configuration, encoding, key), pending or observed (see _codes_of)
        self._codes: dict[int, tuple[dict[str, Any], np.ndarray, tuple[Any, ...]]] = {}
        self._level_cache: tuple[Any, list[float]] = (None, [])
        self._next_level: dict[int, float] = {}  # trial -> the lowest level it has no result at
        self._batch_scale = (0.0, 1.0)  # (mean, sd) that normalised the batch's targets
        self._names = list(space)
        self._numeric: list[int] = []  # encoded columns of Real and Int domains
        self._ints: list[tuple[int, Any]] = []  # columns snapped to a value's cell
        self._onehot: list[slice] = []
        # (name, domain, first column, one-hot width or 0 for a number), for decoding
        self._layout: list[tuple[str, Any, int, int]] = []
        column = 0
        for name in self._names:
            domain = space[name]
            width = len(domain.choices) if isinstance(domain, Categorical) else 0
            self._layout.append((name, domain, column, width))
            if width:
                self._onehot.append(slice(column, column + len(domain.choices)))
                column += len(domain.choices)
            else:
                self._numeric.append(column)
                if isinstance(domain, Int) or domain.stepped:
                    self._ints.append((column, domain))
                column += 1
        self._width = column
        # the numeric columns as a slice where they are contiguous (a view, not a copy)
        self._numeric_columns: slice | list[int] = self._numeric if not self._numeric or \
            self._numeric != list(range(self._numeric[0], self._numeric[-1] + 1)) \
            else slice(self._numeric[0], self._numeric[-1] + 1)
        # (trial_id, rung level or None) -> (encoded config, value to minimise)
        self.data: dict[tuple[int, float | None], tuple[np.ndarray, float]] = {}
        self._observed: set[tuple[Any, ...]] = set()  # keys of the configurations in data
        # a random rank per observation: fits use the lowest-ranked ones, a subset that changes
        # little from one fit to the next, so warm-started fits converge in a few steps
        self._rank: dict[tuple[int, float | None], float] = {}
        self._rank_rng = np.random.default_rng(None if seed is None else [seed, 1])
        # the data as arrays that grow by doubling (rows in the order of data): encoded
        # configuration, value, normalised level and rank, so a proposal copies nothing
        self._row: dict[tuple[int, float | None], int] = {}
        self._xs = np.zeros((16, self._width))
        self._ys, self._rs, self._ranks = np.zeros(16), np.zeros(16), np.zeros(16)
        self._counts: dict[float | None, int] = {}  # observations per level
        # (observations, trusted levels, max_t, resource) -> trusted counts and target level
        self._trusted_cache: tuple[Any, dict[float | None, int], float | None] = (None, {}, None)
        self._trials: set[int] = set()  # trials with an observation
        self._tables: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}  # column -> snap
        self._gp: GaussianProcess | None = None
        self._fits = 0
        self._fitted_at = -1

    # ------------------------------------------------------------------ observing
    def describe(self) -> str:
        return f"bayesopt search ({self.kernel_name})"

    def observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                final: bool = False) -> None:
        """Learn from a report; most reports of a running trial fall between rung levels (or
        come without Hyperband) and teach nothing, so they return before the inbox. Levels only
        grow, so a level read without the lock is never above the one ``_observe`` checks."""
        if not final:
            if self.resource is None:
                return
            r = finite_number(result.get(self.resource))
            if r is None or r < self._next_level.get(trial_id, -math.inf):
                return
        self._post(self._apply_observe, trial_id, config, result, final)  # uses_progress

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        """Record final results (FIFO) or the first result at or past each rung level."""
        if self.resource is None:
            loss = self.loss(result) if config and final else None
            if loss is not None:
                self._add((trial_id, None), config, loss)
            return
        r = self.level(result)
        if r is None or r < self._next_level.get(trial_id, -math.inf):
            return  # most reports fall between rung levels: nothing to record
        loss = self.loss(result) if config else None
        if loss is None:
            return
        levels = self._levels()  # ascending
        for level in levels:
            if r < level:
                break
            if (trial_id, level) not in self.data:
                self._add((trial_id, level), config, loss)
        self._next_level[trial_id] = next((level for level in levels if level > r), math.inf)

    # ------------------------------------------------------------------ proposing
    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        if len(self._trials) < max(self.num_init_random, 2) or not self._trusted_counts():
            return self._distinct_random()
        return self._propose()

    def _propose(self) -> dict[str, Any] | None:
        """The next pick of the current batch of proposals while it is valid, else a fresh
        proposal: the configuration with the largest expected improvement."""
        taken = self._taken()
        batch = self._batch
        if batch is not None and batch.context == self._batch_context():
            untaken, decoded = self._untaken_test(batch.candidates, taken)
            index = batch.pick(untaken)
            if index is not None:
                choice = decoded[index]
                if self.debug_log:
                    self._log_pick(choice, batch)
                return choice
        return self._fresh_proposal(self._fantasies(), taken)

    def _fresh_proposal(self, fantasies: list[np.ndarray], taken: set[tuple[Any, ...]]
                        ) -> dict[str, Any] | None:
        """Fit or condition the model, rank random and local candidates by EI, refine the best
        by coordinate search, and keep them all as a new batch whose best pick is returned."""
        x, y_raw, levels, ranks = self._training_data()
        y_mean, y_std = float(np.mean(y_raw)), float(np.std(y_raw)) or 1.0
        y = (y_raw - y_mean) / y_std
        refitted = self._update_model(x, y, ranks)
        gp = self._gp
        assert gp is not None
        level = self._target_level()
        incumbent = float(np.min(gp.fitted_mean()[levels == self._r(level)]))
        if fantasies:  # kriging believer; a pending point predicted better is the new best
            fantasy_x = self._at(np.array(fantasies), level)
            incumbent = min(incumbent, float(np.min(gp.predict(fantasy_x)[0])))
            gp = gp.fantasised(fantasy_x)
        candidates = self._candidates(level)
        mean, variance, factors = gp.posterior(self._at(candidates, level))
        ei = expected_improvement(incumbent, mean, np.sqrt(variance))
        weights = self._acquisition_weights(candidates)
        if weights is not None:
            ei *= weights
        size = self._batch_size()
        # the batch keeps the best candidates by EI (fantasies only lower EI), then the points
        # the coordinate search ends at
        ranking = np.argsort(-ei, kind="stable")
        pool = max(_BATCH_POOL, 2 * size)
        if self.max_batch_pool is not None:
            pool = min(pool, self.max_batch_pool)
        kept = np.sort(ranking[:pool])
        factors = factors[:, kept]  # a copy: the search below reuses the work arrays
        points = self._refine(gp, candidates, ei, level, incumbent)
        others = candidates[ranking[len(kept):]]  # by EI, if everything kept was tried
        candidates, mean, variance = candidates[kept], mean[kept], variance[kept]
        if len(points):
            more = gp.posterior(self._at(points, level))
            candidates = np.vstack([candidates, points])
            mean, variance = np.concatenate([mean, more[0]]), np.concatenate([variance, more[1]])
            factors = np.hstack([factors, more[2]])
        weights = None if weights is None else self._acquisition_weights(candidates)
        batch = self._batch = ProposalBatch(
            candidates, self._at(candidates, level), mean, variance, factors, gp.kernel,
            gp.diagonal, incumbent, size, self._batch_context(),
            float(np.min(y_raw[levels == self._r(level)])), self._prior_scratch, weights)
        self._batch_scale = (y_mean, y_std)  # what the batch's normalised values mean
        untaken, decoded = self._untaken_test(candidates, taken)
        index = batch.pick(untaken)
        if index is None:
            self._batch = None
            untaken, decoded = self._untaken_test(others, taken)
            row = next((i for i in range(len(others)) if untaken(i)), None)
            return self._distinct_random() if row is None else decoded[row]
        choice = decoded[index]
        if self.debug_log:
            self._log(choice, batch.picked_ei, float(mean[index]), batch.picked_std, incumbent,
                      batch.best, y_mean, y_std, level, len(x), refitted)
        return choice

    def _log_pick(self, choice: dict[str, Any], batch: ProposalBatch) -> None:
        """One line per proposal taken from a batch, in the metric's units."""
        from ..trial import log_line

        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                          for k, v in choice.items())
        y_mean, y_std = self._batch_scale
        predicted = self.direction.sign * (batch.picked_mean * y_std + y_mean)
        log_line(f"bayesopt: chose {shown}, pick {batch.made} of the last acquisition's "
                 f"batch (up to {batch.made + batch.left}): EI {batch.picked_ei * y_std:.4g} "
                 f"(predicted {predicted:.4g} +- {batch.picked_std * y_std:.3g}) after "
                 f"fantasising the earlier picks")

    def _log(self, choice: dict[str, Any], ei: float, mean: float, std: float,
             incumbent: float, best_loss: float, y_mean: float, y_std: float,
             level: float | None, n: int, refitted: bool) -> None:
        """One line per model-based proposal. ``best_loss`` is the best result observed (at
        the target level); ``incumbent`` (normalised) is what EI improves on: the model's
        lowest mean there, or a pending trial's prediction if lower."""
        from ..trial import log_line

        assert self._gp is not None
        kernel = self._gp.kernel
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                          for k, v in choice.items())
        sign = self.direction.sign  # back from losses to the metric's values
        reference = sign * (incumbent * y_std + y_mean)
        predicted = sign * (mean * y_std + y_mean)
        where = "" if level is None else f" at {self.resource}={level:g}"
        log_line(f"bayesopt: {n} observations ({len(self.pending)} pending), kernel "
                 f"{self.kernel_name}, hyperparameters {'refitted' if refitted else 'reused'}; "
                 f"best observed {self.metric} {sign * best_loss:.4g}{where} (EI measured "
                 f"against {reference:.4g}); chose {shown} with EI {ei * y_std:.4g} "
                 f"(predicted {predicted:.4g} +- {std * y_std:.3g}); lengthscales "
                 f"{np.array2string(kernel.part('lengthscales'), precision=3)}, noise "
                 f"{kernel.noise * y_std ** 2:.3g}")
