"""[network.groups.<name>] of a configuration: groups of regions, each one model of the ladder,
on one connectome (a `MixedNetwork`), with one-line errors naming the group and the key.

    [network.groups.cortex]
    model = "JansenRit"
    regions = "rest"                       # or [0, 1, 2], "0:34", ["lh.cuneus", "*occipital"]
    params = { p = 220.0 }
    [network.groups.visual]
    model = "LaNMM"
    regions = ["*cuneus", "*lateraloccipital", "*lingual", "*pericalcarine"]
    efferent_scale = 1.0                   # and input_scale, time_scale: see `NodeGroup`
"""

from __future__ import annotations

import fnmatch

import numpy as np

from ._config import NUM, fail, model_from, reported


# key -> (accepted types, what the value must be)
GROUP = {
    "model": (str, "a model name"),
    "regions": ((list, str), 'a list, a range or "rest"'),
    "params": (dict, "a table of parameter values"),
    "efferent_scale": ((*NUM, list), "a number or a list of numbers"),
    "input_scale": ((*NUM, list), "a number or a list of numbers"),
    "time_scale": (NUM, "a number (the duration of a dimensionless model's time unit)"),
}
OPTIONS = ("efferent_scale", "input_scale", "time_scale")  # as in `NodeGroup`
REGIONS_HELP = (
    'a list of region indices or label patterns (e.g. ["lh.cuneus", "*occipital"]), a range '
    '"start:stop" (stop excluded), or "rest" (the regions no other group takes)'
)


def build_groups(cfg, labels: list[str]) -> dict[str, tuple]:
    """The `groups` argument of `Network.mixed` from [network.groups], on a connectome with
    `labels` (one per region)."""
    groups = cfg["network"]["groups"]
    if not groups or not all(isinstance(g, dict) for g in groups.values()):
        fail(
            cfg,
            "[network.groups] must hold one table per group, e.g. [network.groups.cortex] "
            'with model = "JansenRit" and regions = "rest".',
        )
    for name, spec in groups.items():
        _check_keys(cfg, name, spec)
    regions = _assign_regions(cfg, groups, labels)
    out = {}
    for name, spec in groups.items():
        where = f"network.groups.{name}"
        n = len(regions[name])
        count = (n, "the group has")
        model = model_from(cfg, spec["model"], spec.get("params", {}), (where, "model"), count)
        options = {k: _scale(cfg, where, k, spec[k], n) for k in OPTIONS if k in spec}
        out[name] = (model, regions[name], options)
    return out


def _check_keys(cfg, name: str, spec: dict) -> None:
    where = f"[network.groups.{name}]"
    for key, value in spec.items():
        if key not in GROUP:
            fail(cfg, f"{where} unknown key '{key}' (allowed: {', '.join(GROUP)}).")
        types, what = GROUP[key]
        if isinstance(value, bool) or not isinstance(value, types):
            fail(cfg, f"{where} {key} must be {what}; got {value!r}.")
    for key in ("model", "regions"):
        if key not in spec:
            fail(cfg, f"{where} missing required key '{key}'.")


def _scale(cfg, where: str, key: str, value, n: int):
    """A group option: a number, or a list of numbers with one value per region of the group."""
    if isinstance(value, list):
        if not all(isinstance(v, NUM) and not isinstance(v, bool) for v in value):
            fail(cfg, f"[{where}] {key} must be a number or a list of numbers; got {value!r}.")
        if len(value) != n:
            fail(cfg, f"[{where}] {key} has {len(value)} values; the group has {n} regions.")
        return np.asarray(value, dtype=float)
    return float(value)


def _assign_regions(cfg, groups: dict, labels: list[str]) -> dict[str, list[int]]:
    """Each group's regions (sorted indices); "rest" (one group at most) takes the regions no
    other group lists. Every region must belong to exactly one group."""
    n = len(labels)
    rest = [name for name, spec in groups.items() if spec["regions"] == "rest"]
    if len(rest) > 1:
        fail(cfg, f'[network.groups] regions = "rest" in several groups ({", ".join(rest)}).')
    out: dict[str, list[int]] = {}
    owner: dict[int, str] = {}
    for name, spec in groups.items():
        if spec["regions"] == "rest":
            continue
        out[name] = _regions(cfg, name, spec["regions"], labels)
        for i in out[name]:
            if i in owner:
                fail(
                    cfg,
                    f"[network.groups.{name}] regions: region {i} ({labels[i]}) is also in "
                    f"group '{owner[i]}'; every region belongs to one group.",
                )
            owner[i] = name
    left = [i for i in range(n) if i not in owner]
    if rest:
        if not left:
            fail(cfg, f'[network.groups.{rest[0]}] regions = "rest" but no region is left.')
        out[rest[0]] = left
    elif left:
        fail(
            cfg,
            f"[network.groups] regions {left[:12]}{' ...' if len(left) > 12 else ''} are in no "
            f"group (the connectome has {n}); add them to a group or give one group "
            'regions = "rest".',
        )
    return out


def _regions(cfg, name: str, value, labels: list[str]) -> list[int]:
    """The sorted region indices of a group's `regions` (not "rest")."""
    where, n = f"[network.groups.{name}] regions", len(labels)
    if isinstance(value, str):
        with reported(cfg, f"{where} must be {REGIONS_HELP}; got {value!r}:"):
            start, stop = (int(v) for v in value.split(":"))
        if not 0 <= start < stop <= n:
            fail(cfg, f"{where} {value!r} is not a range inside 0:{n} (the connectome's regions).")
        return list(range(start, stop))
    if not value:
        fail(cfg, f"{where} is empty; it must be {REGIONS_HELP}.")
    out = set()
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            if not 0 <= item < n:
                fail(
                    cfg, f"{where}: index {item} is outside 0..{n - 1} (the connectome's regions)."
                )
            out.add(item)
        elif isinstance(item, str):
            found = [i for i, label in enumerate(labels) if fnmatch.fnmatchcase(label, item)]
            if not found:
                fail(cfg, f"{where}: no region label matches {item!r} (labels: {_some(labels)}).")
            out.update(found)
        else:
            fail(cfg, f"{where} must be {REGIONS_HELP}; got {item!r} in the list.")
    return sorted(out)


def _some(labels: list[str], k: int = 6) -> str:
    return ", ".join(labels[:k]) + (", ..." if len(labels) > k else "")
