"""What features are computed from: the `Activity` of a model (signals, a spectrum, an FC)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .analysis._signal import functional_connectivity, welch


class Activity(eqx.Module):
    """What features are computed from.

    Attributes:
        x: the observable after the transient, shape `(n_time, n_channels)`, or None.
        fs: its sampling rate (Hz, or samples per time unit for dimensionless models).
        nperseg: Welch segment length for the spectrum of `x`.
        freqs, psd: a spectrum given directly (e.g. analytic), `(n_freqs,)` and
            `(n_freqs, n_channels)`; None to estimate it from `x`.
        fc: an FC matrix given directly (e.g. from the Lyapunov covariance), or None.
    """

    x: Float[Array, "n_time n_channels"] | None = None
    freqs: Float[Array, " n_freqs"] | None = None
    psd: Float[Array, "n_freqs n_channels"] | None = None
    fc_matrix: Float[Array, "n_channels n_channels"] | None = None
    fs: float | None = eqx.field(default=None, static=True)
    nperseg: int | None = eqx.field(default=None, static=True)

    def spectrum(self) -> tuple[Float[Array, " n_freqs"], Float[Array, "n_freqs n_channels"]]:
        """`(freqs, psd)`: the given spectrum, or the Welch spectrum of `x`."""
        if self.psd is not None:
            return self.freqs, self.psd
        if self.x is None:
            raise ValueError("A spectral feature needs signals or a spectrum.")
        return welch(self.x, self.fs, nperseg=min(self.nperseg, self.x.shape[0]))

    def mean_spectrum(self) -> tuple[Float[Array, " n_freqs"], Float[Array, " n_freqs"]]:
        """The channel-mean spectrum `(freqs, psd)`."""
        f, p = self.spectrum()
        return f, jnp.mean(p.reshape(p.shape[0], -1), axis=1)

    def fc(self) -> Float[Array, "n_channels n_channels"]:
        """The given FC matrix, or the correlation matrix of the channels of `x`."""
        if self.fc_matrix is not None:
            return self.fc_matrix
        if self.x is None:
            raise ValueError("An FC feature needs signals or an FC matrix.")
        return functional_connectivity(self.x)

    def signals(self, name: str) -> Float[Array, "n_time n_channels"]:
        """The signals `x`, which the feature `name` needs (an error without a simulation)."""
        if self.x is None:
            raise ValueError(f"The feature `{name}` needs simulated signals (a simulation).")
        return self.x
