"""TOML configurations of the `rosetta-jax` commands: schema, validation with one-line errors,
and building models, networks and runs from them."""

from __future__ import annotations

import contextlib
import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A bad configuration: the message is one line naming the file, the key and the fix."""


NUM = (int, float)
NUMS = "number or list of numbers"

# section -> {key: type}; a dict value is a sub-table with its own keys; "table" is free-form.
MODEL = {"name": str, "params": "table"}
NETWORK = {
    "connectome": str,
    "G": NUM,
    "speed": NUM,
    "normalize": str,
    "time_unit": str,
    "groups": "table",
}
SIMULATION = {
    "t1": NUM,
    "dt": NUM,
    "t0": NUM,
    "save_every": int,
    "noise": NUM,
    "seed": int,
    "float64": bool,
    "discard": NUM,
}
FORCING = {"kind": str, "amplitude": NUM, "frequency": NUM, "regions": list}
OUTPUT = {"dir": str, "plot": bool}
SCHEMAS = {
    "simulate": {
        "model": MODEL,
        "network": NETWORK,
        "simulation": SIMULATION,
        "forcing": FORCING,
        "output": OUTPUT,
    },
    "fit": {
        "model": MODEL,
        "fit": {
            "task": str,
            "steps": int,
            "learning_rate": NUM,
            "seed": int,
            "target": str,
            "params": list,
            "bounds": "table",
            "noise": NUM,
            "n_starts": int,
            "checkpoint": bool,
        },
        "output": OUTPUT,
    },
    "sweep": {
        "model": MODEL,
        "network": NETWORK,
        "simulation": SIMULATION,
        "sweep": {
            "kind": str,
            "n": int,
            "seed": int,
            "features": list,
            "chunk_size": int,
            "resume": bool,
            "params": "table",
        },
        "output": OUTPUT,
    },
    "bifurcation": {
        "model": MODEL,
        "bifurcation": {
            "param": str,
            "start": NUM,
            "stop": NUM,
            "simulate": bool,
            "max_points": int,
        },
        "output": OUTPUT,
    },
}
REQUIRED = {
    "simulate": {"model": ["name"], "simulation": ["t1", "dt"]},
    "fit": {"fit": ["task"]},
    "sweep": {"model": ["name"], "simulation": ["t1", "dt"], "sweep": ["params"]},
    "bifurcation": {"model": ["name"], "bifurcation": ["param", "start", "stop"]},
}
FIT_TASKS = ("regional_spectra", "connectome_fc", "network_spectra", "spectrum", "spectra")


def _type_name(t) -> str:
    if t == NUM:
        return "a number"
    return {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        list: "a list",
        "table": "a table",
    }.get(t, str(t))


def load(path: str | Path, command: str) -> dict:
    """Read and validate a configuration for `command`; raise `ConfigError` (one line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file.")
    try:
        cfg = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}).") from None
    schema = SCHEMAS[command]
    for section, table in cfg.items():
        if section not in schema:
            raise ConfigError(
                f"{path}: unknown section [{section}] for `{command}` (allowed: "
                f"{', '.join(schema)})."
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] must be a table.")
        for key, value in table.items():
            if key not in schema[section]:
                raise ConfigError(
                    f"{path}: unknown key '{key}' in [{section}] (allowed: "
                    f"{', '.join(schema[section])})."
                )
            want = schema[section][key]
            ok = (
                isinstance(value, dict)
                if want == "table"
                else isinstance(value, want)
                and not (want in (NUM, int) and isinstance(value, bool))
            )
            if not ok:
                raise ConfigError(
                    f"{path}: [{section}] {key} must be {_type_name(want)}; got {value!r}."
                )
    _check_required(cfg, path, command)
    cfg["_path"] = str(path)
    cfg["_dir"] = path.parent
    return cfg


def _check_required(cfg, path, command: str) -> None:
    """The required keys; with [network.groups] the groups give the models, not [model]."""
    grouped = "groups" in cfg.get("network", {})
    if grouped and "model" in cfg:
        raise ConfigError(
            f"{path}: [model] and [network.groups] exclude each other (each group names its "
            "model); remove one."
        )
    for section, keys in REQUIRED[command].items():
        if section == "model" and grouped:
            continue
        for key in keys:
            if key not in cfg.get(section, {}):
                raise ConfigError(f"{path}: missing required key '{key}' in [{section}].")


def fail(cfg, msg: str):
    raise ConfigError(f"{cfg['_path']}: {msg}")


@contextlib.contextmanager
def reported(cfg, where: str):
    """Turn a TypeError or ValueError raised inside the block (bad input the library found)
    into a one-line `ConfigError`: `where` (e.g. "[simulation]") and the message's first line."""
    try:
        yield
    except (TypeError, ValueError) as e:
        fail(cfg, f"{where} {str(e).splitlines()[0]}")


def resolve(cfg, value: str) -> Path:
    """A file named in a config, relative to the config's folder."""
    p = Path(value).expanduser()
    p = p if p.is_absolute() else Path(cfg["_dir"]) / p
    if not p.exists():
        fail(cfg, f"file {value!r} does not exist.")
    return p


def load_npz(cfg, path: Path, what: str, required=(), numeric=()) -> dict[str, np.ndarray]:
    """The arrays of an .npz file named in a config, read without pickle, with one-line errors
    for a damaged file, pickled objects, missing arrays or non-numeric data."""
    import io
    import zipfile

    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError:
        fail(
            cfg,
            f"{what} {path.name} holds pickled objects, which are never loaded; save "
            "plain numeric arrays (np.savez(file, weights=W, ...)).",
        )
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        fail(
            cfg,
            f"{what} {path.name} is not a readable .npz file (truncated or corrupted? "
            f"{type(e).__name__}).",
        )
    for k in required:
        if k not in arrays:
            fail(
                cfg,
                f"{what} {path.name} has no array '{k}' (it has: "
                f"{', '.join(sorted(arrays)) or 'none'}).",
            )
    for k in numeric:
        if k in arrays and not np.issubdtype(arrays[k].dtype, np.number):
            fail(
                cfg,
                f"{what} {path.name}: array '{k}' must be numeric; got dtype {arrays[k].dtype}.",
            )
    return arrays


def build_model(cfg, n_regions: int | None = None):
    """The node model of [model]: `name` from `rosetta_jax.models`, `params` its values."""
    m = cfg.get("model", {})
    count = None if n_regions is None else (n_regions, "the connectome has")
    return model_from(cfg, m.get("name"), m.get("params", {}), ("model", "name"), count)


def model_from(cfg, name, params: dict, where: tuple[str, str], count=None):
    """A model of `rosetta_jax.models` called `name` with the numeric `params` of a config
    section. `where` is (section, key of the name), e.g. ("model", "name"); `count` is
    (n, "the connectome has"): the length every list parameter must have."""
    from .. import models

    section, key = where
    names = sorted(
        n
        for n, c in vars(models).items()
        if isinstance(c, type)
        and issubclass(c, models.AbstractModel)
        and c is not models.AbstractModel
    )
    if name not in names:
        fail(cfg, f"[{section}] {key} {name!r} is not a model (choose one of: {', '.join(names)}).")
    cls = getattr(models, name)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for k, v in params.items():
        if k not in fields:
            fail(
                cfg,
                f"[{section}.params] {name} has no parameter '{k}' (it has: "
                f"{', '.join(sorted(fields))}).",
            )
        if isinstance(v, bool) or not (
            isinstance(v, NUM) or (isinstance(v, list) and all(isinstance(x, NUM) for x in v))
        ):
            fail(cfg, f"[{section}.params] {k} must be a {NUMS}; got {v!r}.")
        if isinstance(v, list) and count is not None and len(v) != count[0]:
            fail(cfg, f"[{section}.params] {k} has {len(v)} values; {count[1]} {count[0]} regions.")
        values[k] = np.asarray(v, dtype=float) if isinstance(v, list) else float(v)
    with reported(cfg, f"[{section}] {name}:"):
        return cls(**values)


def build_connectome(cfg):
    """(weights, lengths, labels) of [network] connectome: 'dk68', 'aal80' or an .npz file with
    `weights` (and optional `lengths`, `labels`)."""
    from .. import data

    c = cfg["network"].get("connectome", "dk68")
    if c == "dk68":
        d = data.load_dk68()
        return d.weights, d.lengths, list(d.labels)
    if c == "aal80":
        d = data.load_aal80()
        return d.weights, d.lengths, list(d.labels)
    p = resolve(cfg, c)
    if p.suffix != ".npz":
        fail(cfg, f"[network] connectome must be 'dk68', 'aal80' or an .npz file; got {c!r}.")
    z = load_npz(
        cfg, p, "[network] connectome", required=("weights",), numeric=("weights", "lengths")
    )
    W = z["weights"]
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        fail(
            cfg,
            f"[network] connectome {c}: 'weights' must be a square matrix; got shape {W.shape}.",
        )
    labels = list(z["labels"]) if "labels" in z else [str(i) for i in range(W.shape[0])]
    return W, (z["lengths"] if "lengths" in z else None), labels


def build_system(cfg):
    """The model to simulate: the node, a `Network` of it when [network] is present, or a
    `MixedNetwork` when [network.groups] is. Returns (model, labels or None)."""
    from ..network import Network

    if "network" not in cfg:
        return build_model(cfg), None
    W, L, labels = build_connectome(cfg)
    net = cfg["network"]
    kw = {"G": float(net.get("G", 1.0))}
    if "normalize" in net:
        kw["normalize"] = None if net["normalize"] == "none" else net["normalize"]
    if "speed" in net:
        if L is None:
            fail(cfg, "[network] speed needs fibre lengths in the connectome.")
        kw["lengths"], kw["speed"] = np.maximum(L, 1.0), float(net["speed"])
    if "groups" in net:
        from ._groups import build_groups

        groups = build_groups(cfg, [str(label) for label in labels])
        with reported(cfg, "[network.groups]"):
            return Network.mixed(groups, W, time_unit=net.get("time_unit"), **kw), labels
    if "time_unit" in net:
        fail(cfg, "[network] time_unit is for mixed networks ([network.groups]).")
    node = build_model(cfg, n_regions=W.shape[0])
    with reported(cfg, "[network]"):
        return Network(node, W, **kw), labels


def build_forcing(cfg, model):
    from .. import forcing

    f = cfg.get("forcing")
    if not f:
        return None
    kind = f.get("kind", "sinusoid")
    amp = float(f.get("amplitude", 0.0))
    if kind == "constant":
        drive = forcing.Constant(amp)
    elif kind == "sinusoid":
        if "frequency" not in f:
            fail(cfg, "[forcing] a sinusoid needs 'frequency' (in cycles per model time unit).")
        drive = forcing.Sinusoid(amplitude=amp, frequency=float(f["frequency"]))
    else:
        fail(cfg, f"[forcing] kind must be 'constant' or 'sinusoid'; got {kind!r}.")
    if "regions" in f:
        from .._network_base import AbstractNetwork

        if not isinstance(model, AbstractNetwork):
            fail(cfg, "[forcing] regions needs a [network].")
        n = model.weights.shape[0]
        regions = f["regions"]
        if not all(isinstance(r, int) and 0 <= r < n for r in regions):
            fail(cfg, f"[forcing] regions must be integers in [0, {n - 1}].")
        pattern = np.zeros(n)
        pattern[regions] = 1.0
        drive = drive * pattern
    return drive


def settings(cfg, section="simulation") -> dict[str, Any]:
    s = cfg.get(section, {})
    t1, dt = float(s["t1"]), float(s["dt"])
    if dt <= 0 or t1 <= float(s.get("t0", 0.0)):
        fail(cfg, f"[{section}] needs dt > 0 and t1 > t0.")
    if not float(s.get("noise", 0.0)) >= 0:
        fail(
            cfg,
            f"[{section}] noise must be >= 0 (the amplitude sigma of white noise in the "
            f"input channel); got {s['noise']!r}.",
        )
    if not 0 <= float(s.get("discard", 0.0)) < 1:
        fail(
            cfg,
            f"[{section}] discard must be in [0, 1) (a fraction of the run); got {s['discard']!r}.",
        )
    return s


def out_dir(cfg, default: str) -> Path:
    d = Path(cfg.get("output", {}).get("dir", default))
    d = d if d.is_absolute() else Path.cwd() / d
    d.mkdir(parents=True, exist_ok=True)
    return d
