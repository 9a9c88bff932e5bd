"""How a node's input is formed from the signals of the nodes connected to it.

A `Network` computes, for every node $i$, the afferent sum
$a_i = \\sum_j C_{ij}\\, e_j(t - \\tau_{ij})$ of the other nodes' efferent signals
($e_j$ = `node.efferent(y_j)`, delayed by the conduction delays). The coupling turns it into
the input that enters node $i$'s input channel, scaled by the global gain $G$:

* `Additive`: $u_i = G a_i$. Wilson-Cowan (E activity inside the E sigmoid), NMM1 (a firing
  rate through the excitatory synapse, or a PSP into the sigmoid), NMM2 (a synaptic activation
  into $\\dot v$).
* `Diffusive`: $u_i = G (a_i - e_i(t) \\sum_j C_{ij})$, i.e.
  $G\\sum_j C_{ij}[z_j(t-\\tau_{ij}) - z_i(t)]$, for the harmonic, damped and Stuart-Landau
  oscillators ($x \\to x$, $y \\to y$).
* `Sine`: $u_i = G\\,\\mathrm{Im}(e^{-i\\theta_i} \\sum_j C_{ij} e^{-i\\varphi_{ij}}
  e^{i\\theta_j(t-\\tau_{ij})})$ $= G\\sum_j C_{ij}\\sin(\\theta_j(t-\\tau_{ij}) - \\theta_i
  - \\varphi_{ij})$ for Kuramoto, with an optional Sakaguchi lag $\\varphi$ (a scalar or an
  `(n, n)` array, rad).

Every coupling accepts `signal=f(node, y)` to couple another quantity than `node.efferent`
(e.g. `signal=lambda m, y: y[1] - y[2]` couples Jansen-Rit PSPs instead of rates).

Reference: Castaldo et al. (2026), the network form of each rung (sections 2.1.4, 2.2.2, 3.2,
5.3, 6.1, 7.1); docs/models.md#network-coupling-conventions.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float, Inexact


class AbstractCoupling(eqx.Module):
    """Maps the afferent sum to each node's input (see the module docstring)."""

    signal: Callable | None = eqx.field(default=None, static=True)

    def efferent(self, node: Any, y: Float[Array, " n_states"]) -> Inexact[Array, ""]:
        """The signal node `y` sends: `signal(node, y)` if given, else `node.efferent(y)`."""
        return node.efferent(y) if self.signal is None else self.signal(node, y)

    def edge_factor(self, n: int) -> Complex[Array, "#n #n"] | None:
        """Optional complex factor per edge (the Sakaguchi lag), shape (n, n) or scalar."""
        return None

    @abc.abstractmethod
    def __call__(
        self,
        afferent: Inexact[Array, " n"],
        own: Inexact[Array, " n"],
        weights: Float[Array, "n n"],
        G: Float[ArrayLike, ""],
    ) -> Inexact[Array, " n"]:
        """The input of each node.

        Args:
            afferent: $a_i = \\sum_j C_{ij} e_j(t - \\tau_{ij})$, shape `(n,)`.
            own: each node's own current signal $e_i(t)$, shape `(n,)`.
            weights: the connectome $C$, shape `(n, n)` (for the diffusive self-term).
            G: global coupling gain.
        """


class Additive(AbstractCoupling):
    """$u_i = G \\sum_j C_{ij} e_j(t - \\tau_{ij})$ (WC, NMM1, NMM2)."""

    def __call__(self, afferent, own, weights, G):
        return G * afferent


class Diffusive(AbstractCoupling):
    """$u_i = G \\sum_j C_{ij} [e_j(t - \\tau_{ij}) - e_i(t)]$ (harmonic, damped, Stuart-Landau)."""

    def __call__(self, afferent, own, weights, G):
        return G * (afferent - jnp.sum(weights, axis=1) * own)


class Sine(AbstractCoupling):
    """$u_i = G\\sum_j C_{ij}\\sin(\\theta_j(t-\\tau_{ij}) - \\theta_i - \\varphi_{ij})$ (Kuramoto).

    Args:
        lag: the Sakaguchi phase lag $\\varphi$ [rad], scalar or shape `(n, n)`; default 0.
    """

    lag: Float[Array, "#n #n"] = eqx.field(default=0.0, converter=jnp.asarray)

    def edge_factor(self, n: int) -> Complex[Array, "#n #n"]:
        return jnp.exp(-1j * self.lag)

    def __call__(self, afferent, own, weights, G):
        return G * jnp.imag(jnp.conj(own) * afferent)
