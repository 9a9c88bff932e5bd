"""The `rosetta-jax simulate | fit | sweep | bifurcation CONFIG.toml` commands: each reads a
validated configuration (`_config`) and writes open formats (npz, netCDF, JSON, PNG). The fit
command lives in `_fit_command`."""

from __future__ import annotations

import time

import numpy as np

from .._version import __version__
from . import _config as C
from ._fit_command import run_fit as run_fit
from ._output import public, save_figure, use_agg, write_json


def uses_float64(cfg, command: str) -> bool:
    """The precision a command runs in: float64 for fits and bifurcation analyses (analytic
    spectra and continuation need it near a bifurcation), else as `[simulation] float64` says
    (float32 by default). The command line applies it to the command alone
    (`jax.enable_x64(...)` as a context), never to the whole process."""
    if command in ("fit", "bifurcation"):
        return True
    return bool(cfg.get("simulation", {}).get("float64", False))


def _window(s) -> dict:
    """The start, end and step of a run (model time units) from [simulation]."""
    return dict(t0=float(s.get("t0", 0.0)), t1=float(s["t1"]), dt=float(s["dt"]))


def run_simulate(cfg, say=print) -> dict:
    """`rosetta-jax simulate`: simulation.npz (times, observable, final state, labels),
    simulation.json (settings, versions) and simulation.png. Returns the summary."""
    use_agg()
    import jax.random as jr

    from .. import noise as _noise
    from ..engine import simulate
    from ..plotting import plot_solution

    s = C.settings(cfg)
    model, labels = C.build_system(cfg)
    drive = C.build_forcing(cfg, model)
    sigma = float(s.get("noise", 0.0))
    kw = dict(**_window(s), save_every=int(s.get("save_every", 1)), forcing=drive, save_state=False)
    if sigma > 0:
        kw.update(noise=_noise.Additive(sigma), key=jr.key(int(s.get("seed", 0))))
    out = C.out_dir(cfg, "rosetta-out/simulate")
    say(
        f"simulating {type(model).__name__} for {kw['t1']} (time unit "
        f"{model.time_unit or 'dimensionless'}) at dt = {kw['dt']} -> {out}/"
    )
    t = time.perf_counter()
    with C.reported(cfg, "[simulation]"):
        sol = simulate(model, **kw)
    elapsed = time.perf_counter() - t
    np.savez(
        out / "simulation.npz",
        ts=np.asarray(sol.ts),
        observed=np.asarray(sol.observed),
        y_final=np.asarray(sol.y_final),
        labels=np.asarray(labels if labels else [], dtype=str),
    )
    summary = {
        "config": public(cfg),
        "meta": sol.meta,
        "elapsed_s": elapsed,
        "n_saves": int(sol.ts.shape[0]),
        "rosetta_jax": __version__,
        "files": ["simulation.npz", "simulation.json", "simulation.png"],
    }
    write_json(out / "simulation.json", summary)
    save_figure(cfg, out / "simulation.png", lambda: plot_solution(sol, title=type(model).__name__))
    say(f"done in {elapsed:.1f} s: simulation.npz, simulation.json, simulation.png")
    return summary


def _sweep_space(cfg):
    """The `Space` of [sweep]: a grid of values, or random/Sobol samples within bounds."""
    from .._sweep import Space

    sw = cfg["sweep"]
    kind = sw.get("kind", "grid")
    params = sw["params"]
    # Inside the block, the kind errors too come out prefixed with [sweep.params].
    with C.reported(cfg, "[sweep.params]"):
        if kind == "grid":
            return Space.grid(params)
        if kind in ("random", "sobol"):
            if "n" not in sw:
                C.fail(cfg, f"[sweep] kind '{kind}' needs n (the number of samples).")
            make = Space.random if kind == "random" else Space.sobol
            return make(
                int(sw["n"]), {k: tuple(v) for k, v in params.items()}, seed=int(sw.get("seed", 0))
            )
        C.fail(cfg, f"[sweep] kind must be 'grid', 'random' or 'sobol'; got {kind!r}.")


def _sweep_options(cfg, out) -> dict:
    """The keyword arguments of `sweep` from [simulation] and [sweep]."""
    import jax.random as jr

    from .. import noise as _noise

    s = C.settings(cfg)
    sw = cfg["sweep"]
    sigma = float(s.get("noise", 0.0))
    kw = dict(
        **_window(s),
        save_every=s.get("save_every"),
        discard=float(s.get("discard", 0.1)),
        features=list(sw.get("features", ["peak_frequency", "power_alpha"])),
        key=jr.key(int(s.get("seed", 0))),
        chunk_size=sw.get("chunk_size"),
        resume=bool(sw.get("resume", True)),
        path=out / "sweep",
        progress=True,
    )
    if sigma > 0:
        kw["noise"] = _noise.Additive(sigma)
    return kw


def run_sweep(cfg, say=print) -> dict:
    """`rosetta-jax sweep`: sweep/sweep.nc (netCDF, resumable chunks), sweep.json (the range of
    each feature) and sweep.png. Returns the summary."""
    use_agg()
    from .._sweep import sweep

    C.settings(cfg)
    model, _ = C.build_system(cfg)
    space = _sweep_space(cfg)
    out = C.out_dir(cfg, "rosetta-out/sweep")
    kw = _sweep_options(cfg, out)
    say(f"sweeping {len(space)} parameter sets of {type(model).__name__} -> {out}/sweep/")
    t = time.perf_counter()
    with C.reported(cfg, "[sweep]"):
        ds = sweep(model, space, **kw)
    elapsed = time.perf_counter() - t
    summary = {
        "config": public(cfg),
        "n_samples": len(space),
        "elapsed_s": elapsed,
        "dataset": str(out / "sweep" / "sweep.nc"),
        "rosetta_jax": __version__,
        "features": {
            k: {"min": float(np.nanmin(ds[k].values)), "max": float(np.nanmax(ds[k].values))}
            for k in ds.data_vars
            if k != "diverged" and ds[k].size
        },
    }
    write_json(out / "sweep.json", summary)
    save_figure(cfg, out / "sweep.png", lambda: _sweep_figure(ds, space))
    say(f"done in {elapsed:.1f} s: sweep/sweep.nc, sweep.json, sweep.png")
    return summary


def _sweep_figure(ds, space):
    """One panel per feature over the sweep's parameters (None when there is none to draw)."""
    import matplotlib.pyplot as plt

    feats = [
        k
        for k in ds.data_vars
        if k not in ("diverged", "observed")
        and ds[k].ndim == (len(space.names) if space.kind == "grid" else 1)
    ]
    if not feats:
        return None
    fig, axes = plt.subplots(1, len(feats), figsize=(4.5 * len(feats), 3.6), squeeze=False)
    for ax, k in zip(axes[0], feats, strict=True):
        if space.kind == "grid" and len(space.names) == 2:
            ds[k].plot(ax=ax, x=space.names[0], y=space.names[1])
        elif space.kind == "grid" and len(space.names) == 1:
            ds[k].plot(ax=ax, marker=".")
        else:
            sc = ax.scatter(ds[space.names[0]], ds[space.names[-1]], c=ds[k], s=12)
            fig.colorbar(sc, ax=ax)
            ax.set_xlabel(space.names[0])
            ax.set_ylabel(space.names[-1])
        ax.set_title(k)
    fig.tight_layout()
    return fig


def run_bifurcation(cfg, say=print) -> dict:
    """`rosetta-jax bifurcation`: bifurcation.json (folds, Hopf points with frequencies),
    branch.npz and bifurcation.png. Returns the summary."""
    use_agg()
    from ..analysis import bifurcation_diagram, continuation

    b = cfg["bifurcation"]
    model = C.build_model(cfg)
    param = b["param"]
    if not hasattr(model, param):
        C.fail(cfg, f"[bifurcation] {type(model).__name__} has no parameter '{param}'.")
    out = C.out_dir(cfg, "rosetta-out/bifurcation")
    say(
        f"continuing the equilibria of {type(model).__name__} in {param} from {b['start']} to "
        f"{b['stop']} -> {out}/"
    )
    t = time.perf_counter()
    kw = {"max_points": int(b["max_points"])} if "max_points" in b else {}
    with C.reported(cfg, "[bifurcation]"):
        branch = continuation(model, param, float(b["start"]), float(b["stop"]), **kw)
    elapsed = time.perf_counter() - t
    summary = {
        "config": public(cfg),
        "param": param,
        "folds": [_point(p) for p in branch.fold_points],
        "hopfs": [_point(p) for p in branch.hopf_points],
        "elapsed_s": elapsed,
        "rosetta_jax": __version__,
    }
    write_json(out / "bifurcation.json", summary)
    np.savez(out / "branch.npz", **{k: np.asarray(v) for k, v in _branch_arrays(branch).items()})
    kw_sim = {} if b.get("simulate", True) else {"n_sim": 0}
    save_figure(
        cfg,
        out / "bifurcation.png",
        lambda: bifurcation_diagram(
            model, param, float(b["start"]), float(b["stop"]), branch=branch, **kw_sim
        )[0],
        close_all=True,
    )
    say(branch.summary())
    say(f"done in {elapsed:.1f} s: bifurcation.json, branch.npz, bifurcation.png")
    return summary


def _point(p) -> dict:
    """A fold or Hopf point as JSON: parameter, state and (Hopf) frequency."""
    d = {"param": float(p.param), "state": np.asarray(p.state)}
    if getattr(p, "frequency_hz", None) is not None:
        d["frequency_hz"] = float(p.frequency_hz)
    return d


def _branch_arrays(branch):
    out = {}
    for name in ("param", "states", "stable", "eigenvalues"):
        if hasattr(branch, name):
            out[name] = np.asarray(getattr(branch, name))
    return out
