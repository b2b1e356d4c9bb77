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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import islice
from typing import Any

import numpy as np

from ..records import finite_number
from ..space import INACTIVE, Categorical, Int, Space
from ._base import Searcher
from ._bayesopt_parts import expected_improvement, snap_table, summary_rows
from ._gp import KERNELS, GaussianProcess, Kernel, Scratch
from ._options import check_bool, check_choice, check_float, check_int
from ._proposal_batch import ProposalBatch

_REFINE_STARTS = 3
_REFINE_ROUNDS = 8
_MIN_AT_TARGET = 5
_FIT_POINTS = 150  # hyperparameters are fitted on at most this many observations,
_FIT_POINTS_MULTI = 64  # with Hyperband on at most this many (of the at most _MAX_DATA)
_MAX_DATA = 128  # with Hyperband the model conditions on at most this many observations,
_KEEP_BEST = 16  # among them the best this many at each rung level
_MAX_FINAL_DATA = 400  # without Hyperband, at most this many final results (the 100 best and
_KEEP_BEST_FINAL = 100  # a fixed random sample of the others), so long studies stay cheap
_REFIT_GROWTH = 1.5  # with Hyperband, refit when the observations grew by this factor
_MAX_FANTASIES = 16  # the latest pending trials fantasised (paused ones may pile up)
_SNAP_TABLE = 1024  # domains with at most this many values are snapped by a lookup table
_BATCH_POOL = 128  # a batch picks from at least this many candidates, the best by EI
_CANDIDATES = 500  # random candidates for EI by default (``num_candidates``),
_CANDIDATES_MULTI = 250  # and with Hyperband, where one acquisition serves a batch of trials


class BayesOptSearcher(Searcher):
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

    def _add(self, key: tuple[int, float | None], config: dict[str, Any], loss: float) -> None:
        codes = self._codes_of(key[0], config)  # shared by the trial's levels and proposals
        encoded = codes[1]
        self.data[key] = (encoded, loss)
        self._observed.add(codes[2])
        self._rank[key] = rank = float(self._rank_rng.random())
        row = self._row.get(key)
        if row is None:
            row = self._row[key] = len(self._row)
            self._counts[key[1]] = self._counts.get(key[1], 0) + 1
            self._trials.add(key[0])
            if row == len(self._ys):
                self._xs = np.vstack([self._xs, np.zeros_like(self._xs)])
                self._ys, self._rs, self._ranks = (np.concatenate([a, np.zeros_like(a)])
                                                   for a in (self._ys, self._rs, self._ranks))
        self._xs[row], self._ys[row] = encoded, loss
        self._rs[row], self._ranks[row] = self._r(key[1]), rank
        batch = self._batch
        if batch is not None and key[1] == batch.context[0] and loss < batch.best \
                and (len(self._trials) >= self.new_best_ends_batch_from or self.resource is None):
            self._batch = None  # a new best where EI is taken: the ranking is out of date

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

    def _untaken_test(self, candidates: np.ndarray, taken: set[tuple[Any, ...]]
                      ) -> tuple[Callable[[int], bool], dict[int, dict[str, Any]]]:
        """A test of whether no pending trial runs and no observed one ran candidate ``i``'s
        configuration, and the configurations it decoded on the way (by index)."""
        decoded: dict[int, dict[str, Any]] = {}

        def untaken(i: int) -> bool:
            config = decoded[i] = self._decode(candidates[i])
            key = _config_key(config)
            return key not in taken and key not in self._observed

        return untaken, decoded

    def _batch_context(self) -> tuple[Any, ...]:
        """What a batch of proposals depends on besides the data: the level EI is taken at
        and the rungs the model learns from."""
        return self._target_level(), self.trusted_levels

    def _batch_fraction(self) -> float:
        """The share of the observed trials one acquisition proposes for (``batch_fraction``)."""
        fraction = self.batch_fraction
        if fraction is None:
            fraction = self.default_batch_fraction if self.resource is not None else 0.0
        return fraction

    def _batch_size(self) -> int:
        """How many proposals one acquisition gives (see ``batch_fraction``)."""
        return max(1, int(self._batch_fraction() * len(self._trials)))

    def _fantasies(self) -> list[np.ndarray]:
        """The encodings of the ``_MAX_FANTASIES`` latest pending configurations, oldest
        first (paused trials of the promotion variant stay pending by the hundred; each
        encoding is computed once per trial). Only a fresh acquisition fantasises them."""
        latest = list(islice(reversed(self.pending.items()), _MAX_FANTASIES))
        return [self._codes_of(trial_id, config)[1] for trial_id, config in reversed(latest)]

    def _taken(self) -> set[tuple[Any, ...]]:
        """The keys of the pending configurations without an observation (an observed one's
        key is in ``_observed``), without walking the paused trials in Python (a set
        difference walks the smaller side in C; ``pending.keys() - trials`` walked the
        observed trials: twice as long with the promotion variant's hundreds paused)."""
        pending = self.pending
        return {self._codes_of(trial_id, pending[trial_id])[2]
                for trial_id in set(pending) - self._trials}

    def _codes_of(self, trial_id: int, config: dict[str, Any]
                  ) -> tuple[dict[str, Any], np.ndarray, tuple[Any, ...]]:
        """``(config, its encoding, its key)`` for a trial, computed once: while the trial is
        pending, proposals fantasise it; its rung results reuse it."""
        codes = self._codes.get(trial_id)
        if codes is None or codes[0] is not config:
            encoded = self._encode(config)
            codes = self._codes[trial_id] = (config, encoded, self._key(encoded))
        return codes

    def _levels(self) -> list[float]:
        """The rung levels and max_t, ascending (computed once per fidelity setting)."""
        setting = (self.max_t, tuple(self.rung_levels))
        if self._level_cache[0] != setting:
            levels = sorted(set(self.rung_levels) | ({self.max_t} if self.max_t else set()))
            self._level_cache = (setting, [float(level) for level in levels])
        return self._level_cache[1]

    def _training_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, values to minimise, normalised levels (-1 with FIFO) and ranks of the data
        the model conditions on: a summary of at most 400 final results with FIFO (the 100 best
        and a fixed random sample), of at most 128 rung results with Hyperband, at the levels
        the scheduler trusts."""
        n = len(self._row)
        xs, ys, rs, ranks = self._xs[:n], self._ys[:n], self._rs[:n], self._ranks[:n]
        if self.resource is None:
            rows = summary_rows(ys, rs, ranks, _MAX_FINAL_DATA, _KEEP_BEST_FINAL)
            return xs[rows], ys[rows], rs[rows], ranks[rows]
        used = np.arange(n)
        if self.trusted_levels is not None:  # the levels the scheduler trusts, and max_t
            trusted = [self._r(level) for level in self.trusted_levels]
            used = np.flatnonzero(np.isin(rs, trusted) | (rs >= 1.0))
        rows = used[summary_rows(ys[used], rs[used], ranks[used], _MAX_DATA, _KEEP_BEST)]
        x = np.hstack([xs[rows], rs[rows, None]])
        return x, ys[rows], rs[rows], ranks[rows]

    def _trusted(self, level: float | None) -> bool:
        """Whether results at ``level`` teach the model (see ``Searcher.trust_levels``)."""
        return self.trusted_levels is None or level is None or level in self.trusted_levels \
            or (self.max_t is not None and level >= self.max_t)

    def _trusted_counts(self) -> dict[float | None, int]:
        """Observations per trusted level, and the target level (see ``_target_level``):
        computed again only after a new observation or a change of the trusted levels, not
        for every pick from a batch (each checks the batch's context)."""
        setting = (len(self._row), self.trusted_levels, self.max_t, self.resource)
        if self._trusted_cache[0] != setting:
            counts = {level: n for level, n in self._counts.items() if self._trusted(level)}
            target = None
            if self.resource is not None and counts:
                enough = [lv for lv, n in counts.items() if n >= _MIN_AT_TARGET]
                target = max(enough) if enough else min(counts)  # type: ignore[type-var]
            self._trusted_cache = (setting, counts, target)
        return self._trusted_cache[1]

    def _target_level(self) -> float | None:
        """The largest trusted level with at least ``_MIN_AT_TARGET`` results (None with
        FIFO or before any trusted result)."""
        self._trusted_counts()
        return self._trusted_cache[2]

    def _update_model(self, x: np.ndarray, y: np.ndarray, ranks: np.ndarray) -> bool:
        """Refit hyperparameters for the first ``opt_skip_init_length`` observations, then
        every ``opt_skip_period``-th one (with ``opt_skip_num_max_resource`` under Hyperband:
        when a new result at max_t came in; with Hyperband and neither option given: when the
        observations grew by ``_REFIT_GROWTH``, or by ``1 + batch_fraction`` when that is more,
        as much as one batch may serve: a batch assumes the model holds while its trials come
        in, and with MOBSTER's batches of all the trials observed the fits were a fifth of its
        decision CPU); otherwise only condition on the data. True if refitted."""
        if self._gp is None:
            self._gp = GaussianProcess(Kernel(self.kernel_name, self._width,
                                              self.resource is not None))
        n = len(self._row)
        multi = self.resource is not None
        at_max = sum(count for level, count in self._counts.items() if level is not None
                     and self.max_t is not None and level >= self.max_t)
        init_length = 0 if multi and self._init_length is None else self.opt_skip_init_length
        if self.opt_skip_num_max_resource and multi:
            later = at_max > self._fitted_at_max
        elif multi and self._geometric:
            later = n >= max(_REFIT_GROWTH, 1.0 + self._batch_fraction()) * self._fitted_at \
                and (self._fits != 1 or n >= self.second_fit_from)
        else:
            later = n - self._fitted_at >= self.opt_skip_period
        due = n <= init_length or later
        if due and n != self._fitted_at:
            self._fitted_at_max = at_max
            # random restarts on the first fit and every tenth, warm starts from the last fit
            subset = None
            limit = _FIT_POINTS if self.resource is None else _FIT_POINTS_MULTI
            if len(x) > limit:
                subset = np.sort(np.argsort(ranks, kind="stable")[:limit])
            restarts = int(self._fits % 10 == 0)
            if self._fits == 0:  # none with Hyperband's light early fits (second_fit_from)
                restarts = 0 if multi and self._geometric and self.second_fit_from else 2
            self._gp.fit(x, y, self.rng, restarts=restarts, subset=subset)
            self._fitted_at, self._fits = n, self._fits + 1
            return True
        self._gp.condition(x, y)
        return False

    def _ei(self, gp: GaussianProcess, candidates: np.ndarray, level: float | None,
            incumbent: float) -> np.ndarray:
        mean, std = gp.predict(self._at(candidates, level))
        ei = expected_improvement(incumbent, mean, std)
        weights = self._acquisition_weights(candidates)
        return ei if weights is None else ei * weights

    def _acquisition_weights(self, candidates: np.ndarray) -> np.ndarray | None:
        """A factor per encoded candidate that multiplies its EI wherever candidates are
        ranked (``None``: EI alone); a subclass weighs EI by cost here."""
        return None

    def _candidates(self, level: float | None) -> np.ndarray:
        """Random encoded configurations plus perturbations of the best ones seen."""
        rng, count = self.rng, self._candidate_count()
        randoms = np.zeros((count, self._width))
        randoms[:, self._numeric] = rng.random((count, len(self._numeric)))
        for block in self._onehot:
            chosen = rng.integers(block.stop - block.start, size=count)
            randoms[np.arange(count), block.start + chosen] = 1.0
        n = len(self._row)
        at = np.flatnonzero(self._rs[:n] == self._r(level))
        best = self._xs[at[np.argsort(self._ys[at], kind="stable")[:5]]]
        local = []
        per_scale = max(count // 50, 2)  # 30% of the candidates are local
        for encoded in best:
            for scale in (0.02, 0.05, 0.15):
                moved = np.repeat(encoded[None, :], per_scale, axis=0)
                moved[:, self._numeric] += rng.normal(0.0, scale, (per_scale, len(self._numeric)))
                for block in self._onehot:
                    flip = rng.random(per_scale) < 2 * scale
                    chosen = rng.integers(block.stop - block.start, size=per_scale)
                    moved[flip, block] = 0.0
                    moved[np.flatnonzero(flip), block.start + chosen[flip]] = 1.0
                local.append(moved)
        return self._snap(np.vstack([randoms, *local]))

    def _candidate_count(self) -> int:
        """``num_candidates``, by default 500, or 250 with Hyperband."""
        if self.num_candidates is not None:
            return self.num_candidates
        return _CANDIDATES if self.resource is None else _CANDIDATES_MULTI

    def _refine(self, gp: GaussianProcess, candidates: np.ndarray, ei: np.ndarray,
                level: float | None, incumbent: float) -> np.ndarray:
        """Coordinate search from the best few candidates over the numeric columns: try a
        step up and down along each, take the best move, halve the step when none helps.
        Returns the points it ends at."""
        if not self._numeric:
            return candidates[:0]
        starts = np.argsort(-ei, kind="stable")[:_REFINE_STARTS]
        points, values = candidates[starts].copy(), ei[starts].copy()
        steps = np.full(len(points), 0.1)
        d = len(self._numeric)
        moves = np.tile(np.concatenate([np.eye(d), -np.eye(d)]), (len(points), 1))
        numeric, starts_at = self._numeric_columns, np.arange(len(points))
        for _ in range(_REFINE_ROUNDS):
            trial = np.repeat(points, 2 * d, axis=0)
            trial[:, numeric] += moves * np.repeat(steps, 2 * d)[:, None]
            trial = self._snap(trial)
            gains = self._ei(gp, trial, level, incumbent).reshape(len(points), 2 * d)
            best = np.argmax(gains, axis=1)
            gain = gains[starts_at, best]
            better = gain > values  # each start moves to its best step, or halves its step
            points[better] = trial[starts_at[better] * 2 * d + best[better]]
            values[better] = gain[better]
            steps[~better] /= 2
        return points

    def _snap(self, encoded: np.ndarray) -> np.ndarray:
        """Clip to the cube and move integers (and steps) to the centre of their cell; in a
        conditional space, re-encode each row's configuration."""
        if self.space.conditional:
            return np.array([self._encode(self._decode(row, self.rng)) for row in encoded])
        if self._numeric:
            numeric = self._numeric_columns
            encoded[:, numeric] = np.clip(encoded[:, numeric], 0.0, 1.0)
        for column, domain in self._ints:
            if column not in self._tables:
                self._tables[column] = snap_table(domain, _SNAP_TABLE)
            table = self._tables[column]
            if table is None:
                encoded[:, column] = [domain.to_unit(domain.from_unit(u))
                                      for u in encoded[:, column]]
            else:
                edges, centres = table
                encoded[:, column] = centres[np.searchsorted(edges, encoded[:, column],
                                                             side="right")]
        return encoded

    def _distinct_random(self) -> dict[str, Any]:
        taken = {self._codes_of(trial_id, config)[2]
                 for trial_id, config in self.pending.items()}
        config = self.space.sample(self.rng)
        for _ in range(20):
            if self._key(self._encode(config)) not in taken:
                break
            config = self.space.sample(self.rng)
        return config

    # ------------------------------------------------------------------ encoding
    def _encode(self, config: dict[str, Any]) -> np.ndarray:
        parts: list[float] = []
        for name in self._names:
            domain = self.space[name]
            if isinstance(domain, Categorical):
                onehot = [0.0] * len(domain.choices)
                if name in config:  # an inactive block stays all zeros
                    onehot[domain.index(config[name])] = 1.0
                parts.extend(onehot)
            else:
                parts.append(domain.to_unit(config[name]) if name in config else INACTIVE)
        return np.array(parts)

    def _decode(self, encoded: np.ndarray, rng: np.random.Generator | None = None
                ) -> dict[str, Any]:
        """The configuration of an encoding (active hyperparameters only). With ``rng``, an
        active one encoded as inactive (a column nearer -0.5 than 0, an all-zero block) is
        drawn at random; without, it is clipped."""
        config: dict[str, Any] = {}
        values = encoded.tolist()  # Python floats: a batch's picks decode one by one
        conditional = self.space.conditional
        for name, domain, column, width in self._layout:
            if conditional and not self.space.is_active(name, config):
                continue
            if width:
                part = encoded[column:column + width]
                config[name] = domain.sample(rng) if rng is not None and not part.any() \
                    else domain.choices[int(np.argmax(part))]
            elif rng is not None and values[column] < INACTIVE / 2:
                config[name] = domain.sample(rng)
            else:
                config[name] = domain.from_unit(values[column])
        return config

    def _key(self, encoded: np.ndarray) -> tuple[Any, ...]:
        """What makes two encoded configurations the same configuration."""
        return _config_key(self._decode(encoded))

    def _r(self, level: float | None) -> float:
        """The resource normalised to [0, 1] on a log scale (-1 with FIFO)."""
        if level is None:
            return -1.0
        r_min = self.rung_levels[0] if self.rung_levels else 1.0
        top = self.max_t or level
        if top <= r_min:
            return 1.0
        return math.log(level / r_min) / math.log(top / r_min)

    def _at(self, encoded: np.ndarray, level: float | None) -> np.ndarray:
        """Inputs at resource ``level`` in multi-fidelity use, else unchanged."""
        if level is None:
            return encoded
        return np.hstack([encoded, np.full((len(encoded), 1), self._r(level))])

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


def _config_key(config: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two decoded configurations the same configuration (a choice that cannot be
    hashed, such as a list or a dict, by its ``repr``)."""
    key = tuple(sorted(config.items()))
    try:
        hash(key)
    except TypeError:
        return tuple((name, _hashable(value)) for name, value in key)
    return key


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ("__repr__", repr(value))
    return value
