"""The features of a sweep and the layout of its outputs: what a reader needs to check and
assemble the chunks (array shapes and dtypes, dimension names, coordinates, settings)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import features as F
from ._plan import _Plan, _Sampling
from ._space import Space


def _features(features, bands, peak_band, model, sampling: _Sampling):
    """The requested features as objects, bound to the model and checked against Nyquist."""
    feats = F.from_names(features, bands)
    if peak_band is not None:
        feats = tuple(
            F.PeakFrequency(peak_band, f.label)
            if isinstance(f, F.PeakFrequency) and f.band is None
            else f
            for f in feats
        )
    return F.bind_all(feats, model, sampling.fs / 2)


def _n_channels(model) -> int:
    """The size of the model's observable (at least 1)."""
    shape = jax.eval_shape(lambda: model.observe(model.initial_state())).shape
    return int(np.prod(shape) or 1)


def _layout(feats, model, shapes, plan: _Plan, space: Space) -> dict[str, Any]:
    """What a reader needs to check and assemble chunks (JSON)."""
    n_ch = _n_channels(model)
    dims = {}
    for f in feats:
        d, co = (None, {}) if isinstance(f, F.Custom) else f.dims(n_ch, plan.sampling.freqs)
        dims[f.name] = [
            list(d) if d is not None else None,
            {k: np.asarray(v).tolist() for k, v in co.items()},
        ]
    arrays = {k: [list(v.shape[1:]), np.dtype(v.dtype).str] for k, v in shapes.items()}
    return {
        "names": list(space.names),
        "kind": space.kind,
        "values": np.asarray(space.values).tolist(),
        "axes": [np.asarray(a).tolist() for a in space.axes] if space.axes else None,
        "dims": dims,
        "arrays": arrays,
        "fs": plan.sampling.fs,
        "settings": plan.settings,
    }
