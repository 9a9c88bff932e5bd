"""What the commands write: JSON summaries (numpy values as lists and numbers) and PNG figures,
drawn off-screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def use_agg() -> None:
    """Draw off-screen: the commands write PNG files and never open a window."""
    import matplotlib

    matplotlib.use("Agg")


def write_json(path: Path, obj: Any) -> None:
    """`obj` as indented JSON: numpy arrays as lists, numpy scalars as numbers, paths as
    strings, anything else as its repr."""

    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        if isinstance(o, Path):
            return str(o)
        return repr(o)

    path.write_text(json.dumps(obj, indent=2, default=default) + "\n")


def public(cfg: dict) -> dict:
    """The configuration as the user wrote it (without the loader's `_path` and `_dir`)."""
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def save_figure(cfg: dict, path: Path, draw: Callable, close_all: bool = False) -> None:
    """Write the figure `draw()` returns (None: no figure) to `path`, unless the config says
    `[output] plot = false`. `close_all` closes every figure (a draw that makes helpers' ones
    too), else the figure alone."""
    if not cfg.get("output", {}).get("plot", True):
        return
    import matplotlib.pyplot as plt

    fig = draw()
    if fig is None:
        return
    fig.savefig(path, dpi=110)
    plt.close("all" if close_all else fig)
