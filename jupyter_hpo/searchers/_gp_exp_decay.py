"""The GP's exponential-decay kernels over the resource (freeze-thaw's sum and the delta family)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._gp_matern import ard_contract, matern52

__all__ = ["ExpDecayMixin"]


class ExpDecayMixin:
    """How ``Kernel`` evaluates its exponential-decay kinds and their gradients."""

    def _exp_decay_sum_gradients(self, x: np.ndarray, theta: np.ndarray
                                 ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        n_theta = len(theta)
        signal, signal2 = self.part("signal", theta)[0], self.part("signal2", theta)[0]
        alpha, beta = self.part("decay", theta)
        c1, g1, s1 = matern52(x[:, :-1], x[:, :-1], self.part("lengthscales", theta), True)
        c2, g2, s2 = matern52(x[:, :-1], x[:, :-1], self.part("lengthscales2", theta), True)
        assert g1 is not None and g2 is not None and s1 is not None and s2 is not None
        total = x[:, -1][:, None] + x[:, -1][None, :] + beta
        decay = (beta / total) ** alpha
        first, second = signal * c1, signal2 * c2 * decay

        def contract(w: np.ndarray) -> np.ndarray:
            out = np.zeros(n_theta)
            out[self.slices["lengthscales"]] = -signal * ard_contract(s1, w * g1)
            out[self.slices["lengthscales2"]] = -signal2 * ard_contract(s2, w * g2 * decay)
            out[self.slices["signal"]] = 0.5 * np.sum(w * first)
            out[self.slices["signal2"]] = 0.5 * np.sum(w * second)
            weighted = w * second
            out[self.slices["decay"]] = [
                0.5 * alpha * np.sum(weighted * (math.log(beta) - np.log(total))),
                0.5 * alpha * beta * np.sum(weighted * (1.0 / beta - 1.0 / total))]
            return out

        return first + second, contract

    # ------------------------------------------------- the exponential-decay family (delta)
    def _delta(self, theta: np.ndarray) -> float:
        if self.fixed_delta is not None:
            return self.fixed_delta
        return float(self.part("delta", theta)[0])

    def _exp_decay_delta(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
        signal = self.part("signal", theta)[0]
        gamma = self.part("gamma", theta)[0]
        delta = self._delta(theta)
        alpha, beta = self.part("decay", theta)
        ra, rb = a[:, -1], b[:, -1]
        ki, kj = (beta / (ra + beta)) ** alpha, (beta / (rb + beta)) ** alpha
        kij = (beta / (ra[:, None] + rb[None, :] + beta)) ** alpha
        shape = 1.0 - delta * (ki[:, None] + kj[None, :]) + delta ** 2 * kij
        corr = matern52(a[:, :-1], b[:, :-1], self.part("lengthscales", theta))[0]
        return signal * corr * shape + gamma ** 2 * (kij - ki[:, None] * kj[None, :])

    def _exp_decay_delta_gradients(self, x: np.ndarray, theta: np.ndarray
                                   ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        n_theta = len(theta)
        signal, gamma = self.part("signal", theta)[0], self.part("gamma", theta)[0]
        alpha, beta = self.part("decay", theta)
        delta = self._delta(theta)
        r = x[:, -1]
        corr, dk_dr2, scaled = matern52(x[:, :-1], x[:, :-1], self.part("lengthscales", theta),
                                        True)
        assert dk_dr2 is not None and scaled is not None
        total = r[:, None] + r[None, :]
        k1 = (beta / (r + beta)) ** alpha
        k2 = (beta / (total + beta)) ** alpha
        outer_sum, outer_product = k1[:, None] + k1[None, :], k1[:, None] * k1[None, :]
        shape = 1.0 - delta * outer_sum + delta ** 2 * k2
        resource = k2 - outer_product
        first = signal * corr * shape
        # d kappa / d log alpha = alpha kappa log(beta / (r + beta)),
        # d kappa / d log beta = alpha kappa r / (r + beta)
        derivatives = []
        for d1, d2 in ((alpha * k1 * np.log(beta / (r + beta)),
                        alpha * k2 * np.log(beta / (total + beta))),
                       (alpha * k1 * r / (r + beta), alpha * k2 * total / (total + beta))):
            d_shape = -delta * (d1[:, None] + d1[None, :]) + delta ** 2 * d2
            d_resource = d2 - d1[:, None] * k1[None, :] - k1[:, None] * d1[None, :]
            derivatives.append(signal * corr * d_shape + gamma ** 2 * d_resource)

        def contract(w: np.ndarray) -> np.ndarray:
            out = np.zeros(n_theta)
            out[self.slices["lengthscales"]] = -signal * ard_contract(scaled,
                                                                      w * shape * dk_dr2)
            out[self.slices["signal"]] = 0.5 * np.sum(w * first)
            out[self.slices["gamma"]] = np.sum(w * gamma ** 2 * resource)
            out[self.slices["decay"]] = [0.5 * np.sum(w * d) for d in derivatives]
            if self.fixed_delta is None:
                d_shape = delta * (-outer_sum + 2.0 * delta * k2)
                out[self.slices["delta"]] = 0.5 * np.sum(w * signal * corr * d_shape)
            return out

        return first + gamma ** 2 * resource, contract
