"""The `rosetta-jax simulate | fit | sweep | bifurcation CONFIG.toml` commands: each reads a
validated configuration (`_config`) and writes open formats (npz, netCDF, JSON, PNG)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import _config as C
from ._version import __version__


def uses_float64(cfg, command: str) -> bool:
    """The precision a command runs in: float64 for fits and bifurcation analyses (analytic
    spectra and continuation need it near a bifurcation), else as `[simulation] float64` says
    (float32 by default). The command line applies it to the command alone
    (`jax.enable_x64(...)` as a context), never to the whole process."""
    if command in ("fit", "bifurcation"):
        return True
    return bool(cfg.get("simulation", {}).get("float64", False))


def _setup(cfg, section="simulation"):
    import matplotlib

    matplotlib.use("Agg")


def _write_json(path: Path, obj):
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        if isinstance(o, Path):
            return str(o)
        return repr(o)

    path.write_text(json.dumps(obj, indent=2, default=default) + "\n")


def _public(cfg):
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def run_simulate(cfg, say=print) -> dict:
    _setup(cfg)
    import jax.random as jr

    from . import noise as _noise
    from ._simulate import simulate
    from .plotting import plot_solution

    s = C.settings(cfg)
    model, labels = C.build_system(cfg)
    drive = C.build_forcing(cfg, model)
    sigma = float(s.get("noise", 0.0))
    kw = dict(
        t0=float(s.get("t0", 0.0)),
        t1=float(s["t1"]),
        dt=float(s["dt"]),
        save_every=int(s.get("save_every", 1)),
        forcing=drive,
        save_state=False,
    )
    if sigma > 0:
        kw.update(noise=_noise.Additive(sigma), key=jr.key(int(s.get("seed", 0))))
    out = C.out_dir(cfg, "rosetta-out/simulate")
    say(
        f"simulating {type(model).__name__} for {kw['t1']} (time unit "
        f"{model.time_unit or 'dimensionless'}) at dt = {kw['dt']} -> {out}/"
    )
    t = time.perf_counter()
    try:
        sol = simulate(model, **kw)
    except (TypeError, ValueError) as e:
        C.fail(cfg, f"[simulation] {str(e).splitlines()[0]}")
    elapsed = time.perf_counter() - t
    np.savez(
        out / "simulation.npz",
        ts=np.asarray(sol.ts),
        observed=np.asarray(sol.observed),
        y_final=np.asarray(sol.y_final),
        labels=np.asarray(labels if labels else [], dtype=str),
    )
    summary = {
        "config": _public(cfg),
        "meta": sol.meta,
        "elapsed_s": elapsed,
        "n_saves": int(sol.ts.shape[0]),
        "rosetta_jax": __version__,
        "files": ["simulation.npz", "simulation.json", "simulation.png"],
    }
    _write_json(out / "simulation.json", summary)
    if cfg.get("output", {}).get("plot", True):
        import matplotlib.pyplot as plt

        fig = plot_solution(sol, title=type(model).__name__)
        fig.savefig(out / "simulation.png", dpi=110)
        plt.close(fig)
    say(f"done in {elapsed:.1f} s: simulation.npz, simulation.json, simulation.png")
    return summary


def _target_spectrum(cfg, value):
    """A spectrum target from a file: .npz with `freqs` and `psd` (or `amplitude`), or an MNE
    file (.fif) read through `rosetta_jax.interop`."""
    from . import data
    from .fit import SpectrumTarget

    if value in (None, "meg_spectra", "bundled"):
        return SpectrumTarget.from_data(data.load_meg_spectra())
    p = C.resolve(cfg, value)
    if p.suffix == ".npz":
        z = C.load_npz(
            cfg, p, "[fit] target", required=("freqs",), numeric=("freqs", "psd", "amplitude")
        )
        if not ("psd" in z or "amplitude" in z):
            C.fail(cfg, f"[fit] target {value} needs arrays 'freqs' and 'psd' (or 'amplitude').")
        labels = list(z["labels"]) if "labels" in z else None
        try:
            if "psd" in z:
                return SpectrumTarget(z["freqs"], z["psd"], labels)
            return SpectrumTarget.from_amplitude(z["freqs"], z["amplitude"], labels)
        except ValueError as e:
            C.fail(cfg, f"[fit] target: {str(e).splitlines()[0]}")
    if p.suffix == ".fif" or p.name.endswith(".fif.gz"):
        from .interop import spectrum_target

        return spectrum_target(str(p))
    C.fail(cfg, f"[fit] target must be 'meg_spectra', an .npz or a .fif file; got {value!r}.")


def run_fit(cfg, say=print) -> dict:
    _setup(cfg, "fit")
    import jax.random as jr
    import optax

    from . import fit as F
    from .analysis import stable_equilibrium
    from .noise import Additive

    f = cfg["fit"]
    task = f["task"]
    if task not in C.FIT_TASKS:
        C.fail(cfg, f"[fit] task must be one of {', '.join(C.FIT_TASKS)}; got {task!r}.")
    out = C.out_dir(cfg, "rosetta-out/fit")
    kw = {"key": jr.key(int(f.get("seed", 0))), "progress": True}
    if "steps" in f:
        kw["steps"] = int(f["steps"])
    if "learning_rate" in f:
        kw["learning_rate"] = float(f["learning_rate"])
    if f.get("checkpoint", False):
        kw["checkpoint"] = out / "fit_checkpoint"
    node = C.build_model(cfg) if "model" in cfg else None
    say(f"fitting ({task}) -> {out}/")
    t = time.perf_counter()
    if task == "regional_spectra":
        res = F.fit_regional_spectra(node, n_starts=int(f.get("n_starts", 1)), **kw)
    elif task == "connectome_fc":
        res = F.fit_connectome_fc(node, n_starts=int(f.get("n_starts", 1)), **kw)
    elif task == "network_spectra":
        res = F.fit_network_spectra(node, **kw)
    else:
        if node is None:
            C.fail(cfg, "[fit] task 'spectrum' needs a [model].")
        names = f.get("params")
        if not names or not all(isinstance(n, str) for n in names):
            C.fail(cfg, "[fit] task 'spectrum' needs params = [\"name\", ...] to fit.")
        target = _target_spectrum(cfg, f.get("target"))
        if target.n_channels != 1:
            C.fail(
                cfg,
                f"[fit] task 'spectrum' fits one spectrum; the target has "
                f"{target.n_channels} channels.",
            )
        bounds = f.get("bounds", {})
        transforms = []
        for n in names:
            if not hasattr(node, n):
                C.fail(cfg, f"[fit] params: {type(node).__name__} has no parameter '{n}'.")
            b = bounds.get(n)
            if b is not None and (len(b) != 2 or b[0] >= b[1]):
                C.fail(cfg, f"[fit.bounds] {n} must be [low, high] with low < high.")
            transforms.append(
                F.Bounded(float(b[0]), float(b[1]))
                if b is not None
                else F.Positive(abs(float(getattr(node, n))) or 1.0)
            )
        try:
            y = stable_equilibrium(node)
        except ValueError as e:
            C.fail(cfg, f"[model] {e}")
        obj = F.SpectrumObjective(
            target,
            Additive(float(f.get("noise", 1.0))),
            method=F.Linear(y_guess=y, min_damping=0.03),
            peak_weight=0.05,
        )
        sel = lambda m: tuple(getattr(m, n) for n in names)
        res = F.fit(
            node,
            obj,
            params=sel,
            transforms=tuple(transforms),
            names=tuple(names),
            optimizer=optax.adam(kw.pop("learning_rate", 0.02)),
            steps=kw.pop("steps", 200),
            n_starts=int(f.get("n_starts", 1)),
            **kw,
        )
    elapsed = time.perf_counter() - t
    goodness = {k: v for k, v in res.goodness.items() if k not in ("model_psd", "model_fc")}
    np.savez(
        out / "fit.npz",
        loss_history=res.loss_history,
        **{f"param_{k}": np.asarray(v) for k, v in res.params.items()},
    )
    summary = {
        "config": _public(cfg),
        "task": task,
        "params": res.params,
        "best_loss": res.best_loss,
        "goodness": goodness,
        "elapsed_s": elapsed,
        "meta": {k: v for k, v in res.meta.items() if k != "step_seconds"},
        "rosetta_jax": __version__,
    }
    _write_json(out / "fit.json", summary)
    if cfg.get("output", {}).get("plot", True):
        import matplotlib.pyplot as plt

        fig = res.plot()
        fig.savefig(out / "fit.png", dpi=110)
        plt.close("all")
    say(res.summary())
    say(f"done in {elapsed:.1f} s: fit.json, fit.npz, fit.png")
    return summary


def run_sweep(cfg, say=print) -> dict:
    _setup(cfg)
    import jax.random as jr

    from . import noise as _noise
    from ._sweep import Space, sweep

    s = C.settings(cfg)
    sw = cfg["sweep"]
    model, _ = C.build_system(cfg)
    kind = sw.get("kind", "grid")
    params = sw["params"]
    try:
        if kind == "grid":
            space = Space.grid(params)
        elif kind in ("random", "sobol"):
            if "n" not in sw:
                C.fail(cfg, f"[sweep] kind '{kind}' needs n (the number of samples).")
            make = Space.random if kind == "random" else Space.sobol
            space = make(
                int(sw["n"]), {k: tuple(v) for k, v in params.items()}, seed=int(sw.get("seed", 0))
            )
        else:
            C.fail(cfg, f"[sweep] kind must be 'grid', 'random' or 'sobol'; got {kind!r}.")
    except (TypeError, ValueError) as e:
        C.fail(cfg, f"[sweep.params] {str(e).splitlines()[0]}")
    out = C.out_dir(cfg, "rosetta-out/sweep")
    sigma = float(s.get("noise", 0.0))
    kw = dict(
        t0=float(s.get("t0", 0.0)),
        t1=float(s["t1"]),
        dt=float(s["dt"]),
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
    say(f"sweeping {len(space)} parameter sets of {type(model).__name__} -> {out}/sweep/")
    t = time.perf_counter()
    try:
        ds = sweep(model, space, **kw)
    except (TypeError, ValueError) as e:
        C.fail(cfg, f"[sweep] {str(e).splitlines()[0]}")
    elapsed = time.perf_counter() - t
    summary = {
        "config": _public(cfg),
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
    _write_json(out / "sweep.json", summary)
    if cfg.get("output", {}).get("plot", True):
        _plot_sweep(ds, space, out / "sweep.png")
    say(f"done in {elapsed:.1f} s: sweep/sweep.nc, sweep.json, sweep.png")
    return summary


def _plot_sweep(ds, space, path):
    import matplotlib.pyplot as plt

    feats = [
        k
        for k in ds.data_vars
        if k not in ("diverged", "observed")
        and ds[k].ndim == (len(space.names) if space.kind == "grid" else 1)
    ]
    if not feats:
        return
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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_bifurcation(cfg, say=print) -> dict:
    _setup(cfg, "bifurcation")
    from .analysis import bifurcation_diagram, continuation

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
    try:
        branch = continuation(model, param, float(b["start"]), float(b["stop"]), **kw)
    except (TypeError, ValueError) as e:
        C.fail(cfg, f"[bifurcation] {str(e).splitlines()[0]}")
    elapsed = time.perf_counter() - t

    def point(p):
        d = {"param": float(p.param), "state": np.asarray(p.state)}
        if getattr(p, "frequency_hz", None) is not None:
            d["frequency_hz"] = float(p.frequency_hz)
        return d

    summary = {
        "config": _public(cfg),
        "param": param,
        "folds": [point(p) for p in branch.fold_points],
        "hopfs": [point(p) for p in branch.hopf_points],
        "elapsed_s": elapsed,
        "rosetta_jax": __version__,
    }
    _write_json(out / "bifurcation.json", summary)
    np.savez(out / "branch.npz", **{k: np.asarray(v) for k, v in _branch_arrays(branch).items()})
    if cfg.get("output", {}).get("plot", True):
        import matplotlib.pyplot as plt

        kw_sim = {} if b.get("simulate", True) else {"n_sim": 0}
        fig, _, _ = bifurcation_diagram(
            model, param, float(b["start"]), float(b["stop"]), branch=branch, **kw_sim
        )
        fig.savefig(out / "bifurcation.png", dpi=110)
        plt.close("all")
    say(branch.summary())
    say(f"done in {elapsed:.1f} s: bifurcation.json, branch.npz, bifurcation.png")
    return summary


def _branch_arrays(branch):
    out = {}
    for name in ("param", "states", "stable", "eigenvalues"):
        if hasattr(branch, name):
            out[name] = np.asarray(getattr(branch, name))
    return out
