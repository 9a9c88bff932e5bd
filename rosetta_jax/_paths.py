"""Parameters named by their attribute path in a model, as `sweep`'s `Space` and
`fit.fit(..., params=(...))` name them: `"p"` in a node, `"G"` or `"node.p"` in a `Network`,
`"G"`, `"cortex.C"` or `"cortex.input_scale"` in a `MixedNetwork` (a group by its name, then its
model's parameter or the group's own field), `"generators.0.p"` (an integer step indexes)."""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx


def steps(path: str) -> tuple[str | int, ...]:
    """The attribute names and indices of a dotted path: `"generators.0.p"` ->
    `("generators", 0, "p")`."""
    return tuple(int(s) if s.isdigit() else s for s in path.split("."))


def get(model: Any, path: str) -> Any:
    """The value at `path` in `model` (raises AttributeError, IndexError or TypeError)."""
    for step in steps(path):
        model = model[step] if isinstance(step, int) else getattr(model, step)
    return model


def leaf(model: Any, path: str) -> Any:
    """The floating-point array leaf at `path`.

    Raises:
        ValueError: no such path (the message lists the model's parameters), or not a
            floating-point array leaf.
    """
    if not isinstance(path, str) or not path or "" in path.split("."):
        raise ValueError(f"A parameter path is a dotted name such as 'node.p'; got {path!r}.")
    try:
        value = get(model, path)
    except (AttributeError, IndexError, TypeError):
        raise ValueError(f"The model has no parameter `{path}`; {describe(model, path)}.") from None
    if not eqx.is_inexact_array(value):
        raise ValueError(
            f"`{path}` is not a floating-point array leaf of the model; name a numeric parameter."
        )
    return value


def describe(model: Any, path: str | None = None) -> str:
    """What a path can name in `model` (in the group that a wrong `path` starts with), for
    error messages."""
    from ._mixed_network import MixedNetwork

    if isinstance(model, MixedNetwork):
        head = None if path is None else path.split(".")[0]
        if head in model.names:
            return f"in group '{head}' name {group_text(model.group(head))}"
        groups = zip(model.names, model.groups, strict=True)
        return (
            f"its parameters are {list(model_parameters(model))} and, as '<group>.<name>', each "
            "group's: " + "; ".join(f"'{n}': {group_text(g)}" for n, g in groups)
        )
    fields = [f.name for f in dataclasses.fields(model)] if dataclasses.is_dataclass(model) else []
    return f"its fields are {fields} (use dotted paths such as 'node.p' for a network's node)"


def _own_parameters(model) -> list[str]:
    return [
        f.name for f in dataclasses.fields(model) if eqx.is_inexact_array(getattr(model, f.name))
    ]


def model_parameters(model: Any) -> tuple[str, ...]:
    """The names of a model's floating-point array fields (its parameters)."""
    return tuple(
        f.name
        for f in dataclasses.fields(model)
        if eqx.is_inexact_array(getattr(model, f.name, None))
    )


def group_text(group: Any) -> str:
    """What a path can name in a `NodeGroup`, for error messages."""
    params = ", ".join(model_parameters(group.model))
    return (
        f"a parameter of its {type(group.model).__name__} ({params}) or the group's "
        "efferent_scale, input_scale or time_scale"
    )


def check_group_names(names, reserved) -> None:
    """Group names address the groups in parameter paths (`"cortex.C"`): no dots, no leading
    underscore, none of the network's own attributes (`reserved`)."""
    for name in names:
        if not name or "." in name or name.startswith("_") or name in reserved:
            raise ValueError(
                f"Group name {name!r} cannot address its group in parameter paths such as "
                f"'{name}.C': use a name without dots or a leading underscore that is not an "
                "attribute of MixedNetwork (such as 'G', 'weights' or 'groups')."
            )
