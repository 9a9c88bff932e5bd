"""The posterior plots of a fit: the posterior-predictive check and the corner plot (NUTS
draws when `fit.sample` has run, else draws from the Laplace approximation)."""

from __future__ import annotations

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._mcmc import _draws_u, _predict, _require, posterior_predictive
from ._probit import to_u


def plot_predictive(result, *, problem: int = 0, ax=None, n: int = 200, key=None):
    """The posterior predictive check: for spectra, the recorded PSD (points) with the model's
    median and 90 % band against frequency (log axes); for FC, the model's Fisher z against
    the recording's, with 90 % error bars. Returns the axes."""
    import matplotlib.pyplot as plt

    pp = posterior_predictive(result, n=n, problem=problem, key=key)
    ax = plt.subplots(figsize=(6, 4))[1] if ax is None else ax
    if "freqs" in pp:
        f = pp["freqs"]
        for c in range(pp["psd_data"].shape[1]):
            color = f"C{c % 10}"
            ax.fill_between(f, pp["psd_q05"][:, c], pp["psd_q95"][:, c], color=color, alpha=0.3)
            labels = ("model median, 90 %", "data") if c == 0 else (None, None)
            ax.plot(f, pp["psd_q50"][:, c], color=color, label=labels[0])
            ax.plot(f, pp["psd_data"][:, c], ".", color=color, ms=4, label=labels[1])
        ax.set(xscale="log", yscale="log", xlabel="frequency [Hz]", ylabel="PSD (data units)")
        for axis_ticks in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis_ticks(plt.matplotlib.ticker.FormatStrFormatter("%g"))
    else:
        z, m = pp["data"], pp["q50"]
        err = np.stack([m - pp["q05"], pp["q95"] - m])
        ax.errorbar(z, m, yerr=err, fmt=".", alpha=0.6, label="model median, 90 %")
        lims = [min(z.min(), m.min()), max(z.max(), m.max())]
        ax.plot(lims, lims, "k--", lw=1, label="identity")
        ax.set(xlabel="recorded FC (Fisher z)", ylabel="model FC (Fisher z)")
    ax.set_title(f"posterior predictive ({pp['source']}, {pp['prediction'].shape[0]} draws)")
    ax.legend(fontsize="small")
    return ax


def _laplace_curves(result, problem: int, cols):
    """The Laplace Gaussian's pairwise 95 % ellipses in its coordinates, mapped to natural
    units."""
    lap = result.laplace
    mode, cov = lap.mode_v[problem], lap.cov_v[problem]
    pairs = [(a, b) for i, a in enumerate(cols) for b in cols[:i]]
    t = np.linspace(0, 2 * np.pi, 121)
    pts = np.tile(mode, (len(pairs), t.size, 1))
    for p, (a, b) in enumerate(pairs):
        c = np.linalg.cholesky(cov[np.ix_([a, b], [a, b])])
        pts[p][:, [a, b]] += np.sqrt(5.991) * np.stack([np.cos(t), np.sin(t)], 1) @ c.T
    u = np.asarray(to_u(jnp.asarray(pts.reshape(-1, mode.size)), lap.probit))
    nat = _predict(result.posterior, problem, u)[2].reshape(pts.shape)
    return {(a, b): nat[p][:, [b, a]] for p, (a, b) in enumerate(pairs)}


def plot_corner(result, *, problem: int = 0, coords=None):
    """A corner plot of one problem's posterior in natural units: NUTS draws when
    `fit.sample` has run (else Laplace draws), histograms on the diagonal, pairwise draws
    below; with both, the Laplace approximation's 95 % ellipses overlaid (red).
    `coords`: the coordinates to show (default all). Returns the figure."""
    import matplotlib.pyplot as plt

    posterior = _require(result)
    names = list(posterior.coords) if coords is None else list(coords)
    if not set(names) <= set(posterior.coords):
        raise ValueError(f"`coords` must be among {posterior.coords}; got {coords}.")
    cols = [posterior.coords.index(nm) for nm in names]
    u, source = _draws_u(result, problem, None, jr.key(2))
    x = _predict(posterior, problem, u)[2]
    overlay = source == "NUTS" and result.laplace is not None
    ell = _laplace_curves(result, problem, cols) if overlay and len(cols) > 1 else {}
    k = len(cols)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k, 2.2 * k), squeeze=False)
    for i, a in enumerate(cols):
        for j, b in enumerate(cols):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
            elif i == j:
                ax.hist(x[:, a], bins=40, density=True, color="C0", alpha=0.6)
                ax.set_yticks([])
            else:
                ax.plot(x[:, b], x[:, a], ".", ms=1.5, alpha=0.3, color="C0")
                ax.plot(*ell[a, b].T, "C3") if (a, b) in ell else None
            ax.set_xlabel(names[j] if i == k - 1 else "")
            ax.set_ylabel(names[i] if j == 0 and i > 0 else "")
    fig.suptitle(f"posterior ({source} draws, problem {problem})")
    fig.tight_layout()
    return fig
