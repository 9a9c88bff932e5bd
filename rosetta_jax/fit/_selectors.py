"""`fit`'s `params` given as parameter paths (`"G"`, `"node.p"`, `"cortex.C"`:
`rosetta_jax._paths`): a `Selection` of `Leaf`s, which compare equal for equal paths, so that a
compiled fit is reused by the next fit of the same structure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._paths import leaf, steps
from ._least_squares import Leaf, Selection


def as_selector(
    model: Any, params: Callable | str | Sequence[str], names: Sequence[str] | str | None
) -> tuple[Callable, Sequence[str] | str | None]:
    """`fit`'s `params` as a selector, and the leaves' names: a callable as it is; a path or a
    sequence of paths (`"G"`, `"cortex.C"`) as a `Selection` of those leaves, named by their
    paths unless `names` is given.

    Raises:
        ValueError: a path that names no floating-point leaf of `model` (the message lists
            what the model has).
        TypeError: `params` neither a callable nor paths.
    """
    if callable(params):
        return params, names
    paths = (params,) if isinstance(params, str) else tuple(params)
    if not paths or not all(isinstance(p, str) for p in paths):
        raise TypeError(
            "`params` must be a selector (e.g. lambda m: (m.G, m.node.p)) or parameter paths "
            f"(e.g. ('G', 'node.p'), or ('cortex.C',) in a MixedNetwork); got {params!r}."
        )
    for p in paths:
        leaf(model, p)
    selector = Selection(tuple(Leaf(steps(p)) for p in paths))
    return selector, (paths if names is None else names)


_OBJECTIVES = {
    "fit_fc": "fit.FCObjective(fit.FCTarget(fc), noise.Additive(sigma), method=fit.Linear("
    "y_guess=analysis.stable_equilibrium(net)))",
    "fit_spectra": "fit.SpectrumObjective(target, noise.Additive(sigma), method=fit.Linear("
    "y_guess=analysis.stable_equilibrium(net)), lead_field=gain)",
}


def reject_mixed(model: Any, what: str) -> None:
    """Raise TypeError for a `MixedNetwork` given to a one-call fit (`what`: `"fit_fc"` or
    `"fit_spectra"`) that builds or reads a homogeneous `Network`, saying how to fit it
    instead."""
    from .._mixed_network import MixedNetwork

    if isinstance(model, MixedNetwork):
        objective = _OBJECTIVES[what]
        raise TypeError(
            f"{what} fits networks of one node model (the same model in every region); fit a "
            f"MixedNetwork with fit.fit(net, {objective}, params=('<group>.<name>', 'G', "
            "...)), e.g. params=('cortex.C', 'cortex.input_scale')."
        )
