"""Reinforcement-learning search: an LSTM controller trained with REINFORCE, as in ENAS and
the RL scheduler of the seeds.

Every hyperparameter is one categorical decision: categorical and boolean ones choose among
their values, real and integer ones among ``num_bins`` levels (the centres of equal cells of
the unit cube of ``Space.to_unit``, so log domains are binned log-uniformly). The controller
emits the decisions one after another, feeding each choice back as the next input. After every
``controller_batch_size`` final results it takes one Adam step on the REINFORCE loss, the
rewards being the results standardised over all results so far (sign flipped when minimising)
minus an exponential moving-average baseline.

In a conditional space the controller still steps through every hyperparameter (its state
carries the earlier choices), but a hyperparameter that the earlier choices make inactive
gets no decision: nothing is sampled for it, the next step is fed a "skipped" token of its
own, and it adds nothing to the policy's log-probability, so REINFORCE credits only the
decisions that shaped the configuration. Stepped domains are binned over their steps (a bin
centre decodes to a step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..space import Categorical, Space
from ._base import Searcher
from ._options import check_float, check_int


class RLSearcher(Searcher):
    """Samples configurations from an LSTM policy that REINFORCE moves towards good results."""

    name = "rl"
    OPTIONS = ("controller_batch_size", "controller_lr", "num_bins", "hidden_size",
               "ema_baseline_decay", "max_resample")
    _TORCH_STATE = ("cell", "start", "embeddings", "heads", "optimizer")

    def __init__(self, space: Space, metric: str, mode: str, seed: int | None = None,
                 controller_batch_size: int = 4, controller_lr: float = 2e-2,
                 num_bins: int = 10, hidden_size: int = 32, ema_baseline_decay: float = 0.95,
                 max_resample: int = 20) -> None:
        super().__init__(space, metric, mode, seed)
        if len(space) == 0:
            raise ValueError("rl needs at least one hyperparameter in the space")
        self.controller_batch_size = check_int("controller_batch_size",
                                                controller_batch_size, 1)
        self.controller_lr = check_float("controller_lr", controller_lr, 0, math.inf,
                                          True, True)
        self.num_bins = check_int("num_bins", num_bins, 2)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.ema_baseline_decay = check_float("ema_baseline_decay", ema_baseline_decay, 0, 1,
                                               False, True)
        self.max_resample = check_int("max_resample", max_resample, 0)
        # the values each decision chooses among
        self.choices: list[list[Any]] = []
        for domain in space.values():
            if isinstance(domain, Categorical):
                self.choices.append(list(domain.choices))
                continue
            values: list[Any] = []
            for k in range(self.num_bins):
                v = domain.from_unit((k + 0.5) / self.num_bins)
                if not values or v != values[-1]:
                    values.append(v)
            self.choices.append(values)
        self.conditional = space.conditional
        self._build_controller()
        self._initialise_controller()
        self.actions: dict[int, list[int]] = {}  # trial_id -> decisions of its config
        self._batch: list[tuple[list[int], float]] = []  # (decisions, value to minimise)
        self._history: list[float] = []
        self.baseline: float | None = None
        self.updates = 0

    def _build_controller(self) -> None:
        """The LSTM, its per-decision embeddings and heads, and their optimiser."""
        import torch

        h = self.hidden_size
        self.cell = torch.nn.LSTMCell(h, h)
        self.start = torch.nn.Parameter(torch.zeros(1, h))
        skip = int(self.conditional)  # one more input: "this decision was skipped"
        self.embeddings = torch.nn.ModuleList(
            torch.nn.Embedding(len(c) + skip, h) for c in self.choices)
        self.heads = torch.nn.ModuleList(torch.nn.Linear(h, len(c)) for c in self.choices)
        self.optimizer = torch.optim.Adam([self.start, *self._weights()],
                                          lr=self.controller_lr)

    def _weights(self) -> list[Any]:
        return [*self.cell.parameters(), *self.embeddings.parameters(),
                *self.heads.parameters()]

    def _initialise_controller(self) -> None:
        """ENAS's uniform(-0.1, 0.1) weights, drawn from the searcher's own rng."""
        import torch

        with torch.no_grad():
            for p in self._weights():
                p.copy_(torch.from_numpy(self.rng.uniform(-0.1, 0.1, tuple(p.shape))))

    def describe(self) -> str:
        return f"rl search (LSTM controller, {self.updates} updates)"

    def __getstate__(self) -> dict[str, Any]:
        """The torch modules and the optimiser as state dicts of tensors."""
        state = super().__getstate__()
        for name in self._TORCH_STATE:
            value = state[name]
            state[name] = value.detach().clone() if name == "start" else value.state_dict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch

        saved = {name: state.pop(name) for name in self._TORCH_STATE}
        super().__setstate__(state)
        self._build_controller()
        with torch.no_grad():
            self.start.copy_(saved.pop("start"))
        for name, value in saved.items():
            getattr(self, name).load_state_dict(value)

    def _logits(self, step: int, state: tuple[Any, Any] | None, prev: Any) -> tuple[Any, Any]:
        inp = self.start.expand(prev.shape[0], -1) if step == 0 else \
            self.embeddings[step - 1](prev)
        state = self.cell(inp, state)
        return self.heads[step](state[0]), state

    def _sample_actions(self) -> list[int]:
        """One decision per hyperparameter (-1 where it is inactive)."""
        import torch

        actions: list[int] = []
        config: dict[str, Any] = {}
        with torch.no_grad():
            state, prev = None, torch.zeros(1, dtype=torch.long)
            for step, name in enumerate(self.space):
                logits, state = self._logits(step, state, prev)
                if not self.space.is_active(name, config):
                    actions.append(-1)
                    prev = torch.tensor([len(self.choices[step])])  # the "skipped" input
                    continue
                probs = torch.softmax(logits[0].double(), 0).numpy()
                a = int(self.rng.choice(len(probs), p=probs / probs.sum()))
                actions.append(a)
                config[name] = self.choices[step][a]
                prev = torch.tensor([a])
        return actions

    def _config(self, actions: list[int]) -> dict[str, Any]:
        return {name: c[a] for name, c, a in zip(self.space, self.choices, actions) if a >= 0}

    def _actions_of(self, config: dict[str, Any]) -> list[int]:
        """The decisions nearest to ``config`` (for results of configs we did not propose)."""
        out = []
        for (name, domain), values in zip(self.space.items(), self.choices):
            if name not in config:
                out.append(-1)  # inactive: no decision
            elif isinstance(domain, Categorical):
                out.append(domain.index(config[name]))
            else:
                u = domain.to_unit(config[name])
                out.append(int(np.argmin([abs(domain.to_unit(v) - u) for v in values])))
        return out

    def _suggest(self, trial_id: int) -> dict[str, Any] | None:
        pending = list(self.pending.values())
        for _ in range(self.max_resample + 1):
            actions = self._sample_actions()
            config = self._config(actions)
            if config not in pending:
                break
        self.actions[trial_id] = actions
        return config

    def _observe(self, trial_id: int, config: dict[str, Any], result: dict[str, Any],
                 final: bool) -> None:
        """Collect final results; every ``controller_batch_size`` of them update the policy."""
        if not final:
            return
        actions = self.actions.pop(trial_id, None)
        loss = self.loss(result)
        if loss is None:
            return
        if actions is None:
            if not config:
                return
            actions = self._actions_of(config)
        self._history.append(loss)
        self._batch.append((actions, loss))
        if len(self._batch) >= self.controller_batch_size:
            self._update()

    def _remove(self, trial_id: int) -> None:
        """Forget a failed or cancelled trial (it gives no reward)."""
        self.actions.pop(trial_id, None)

    def _update(self) -> None:
        """One REINFORCE step on the collected batch."""
        import torch

        batch, self._batch = self._batch, []
        hist = np.asarray(self._history)
        scale = hist.std() if len(hist) > 1 and hist.std() > 0 else 1.0
        rewards = np.clip(-(np.array([v for _, v in batch]) - hist.mean()) / scale, -3, 3)
        if self.baseline is None:
            self.baseline = float(rewards.mean())
        advantages = []
        for r in rewards:
            advantages.append(r - self.baseline)
            self.baseline = (self.ema_baseline_decay * self.baseline
                             + (1 - self.ema_baseline_decay) * float(r))
        acts = torch.tensor([a for a, _ in batch], dtype=torch.long)
        log_prob = torch.zeros(len(batch), dtype=torch.float32)
        state, prev = None, torch.zeros(len(batch), dtype=torch.long)
        for step in range(len(self.choices)):
            logits, state = self._logits(step, state, prev)
            decided = acts[:, step] >= 0  # inactive hyperparameters add nothing
            chosen = torch.log_softmax(logits, 1).gather(
                1, acts[:, step:step + 1].clamp(min=0))[:, 0]
            log_prob = log_prob + torch.where(decided, chosen, torch.zeros_like(chosen))
            prev = torch.where(decided, acts[:, step], len(self.choices[step]))
        adv = torch.tensor(advantages, dtype=torch.float32)
        objective = -(adv * log_prob).mean()
        self.optimizer.zero_grad()
        objective.backward()
        self.optimizer.step()
        self.updates += 1
