"""Groups of regions in TOML configs ([network.groups.<name>], a `MixedNetwork`): a mixed config
simulates and writes its outputs, groups of one model equal the homogeneous [model] config,
sweeps take group parameters, and bad group configs are one-line errors (exit 2)."""

import fnmatch
import json
import textwrap

import numpy as np
import pytest
import xarray as xr

from rosetta_jax.cli import main


LABELS = ["lh.a", "lh.b", "lh.occ", "rh.a", "rh.b", "rh.occ"]


@pytest.fixture
def connectome(tmp_path):
    """A 6-region connectome file with labels and fibre lengths."""
    rng = np.random.default_rng(0)
    W = rng.uniform(0.2, 1.0, (6, 6))
    W = W + W.T
    np.fill_diagonal(W, 0.0)
    L = rng.uniform(10.0, 60.0, (6, 6))
    np.savez(tmp_path / "sc.npz", weights=W, lengths=L + L.T, labels=np.asarray(LABELS))
    return tmp_path / "sc.npz"


def config(tmp_path, body, out="out", sim="t1 = 0.2\ndt = 1e-4\nsave_every = 10"):
    p = tmp_path / f"{out}.toml"
    p.write_text(
        textwrap.dedent(body).strip()
        + f'\n[simulation]\n{sim}\n[output]\ndir = "{tmp_path / out}"\n'
    )
    return p


NETWORK = """
[network]
connectome = "{sc}"
G = 5.0
speed = 5.0
"""


def test_a_mixed_config_simulates_and_writes_its_outputs(tmp_path, connectome):
    # Jansen-Rit (s) with a Montbrio-Pazo-Roxin group (ms) in the "occipital" regions, chosen
    # by a label pattern; the network runs in s (the MPR group's drift times 1000).
    cfg = config(
        tmp_path,
        NETWORK.format(sc=connectome)
        + """
        time_unit = "s"
        [network.groups.cortex]
        model = "JansenRit"
        regions = "rest"
        params = { p = [120.0, 150.0, 180.0, 210.0] }
        [network.groups.occipital]
        model = "MontbrioPazoRoxin"
        regions = ["*.occ"]
        input_scale = 0.01
        efferent_scale = [20.0, 30.0]
        """,
        sim="t1 = 0.2\ndt = 1e-4\nsave_every = 10\nnoise = 2.0\nfloat64 = true",
    )
    assert main(["simulate", str(cfg), "--quiet"]) == 0
    z = dict(np.load(tmp_path / "out" / "simulation.npz"))
    assert z["observed"].shape == (200, 6) and np.all(np.isfinite(z["observed"]))
    assert list(z["labels"]) == LABELS
    occ = [i for i, label in enumerate(LABELS) if fnmatch.fnmatchcase(label, "*.occ")]
    assert occ == [2, 5]
    # MPR's observable is its rate r [1/ms], small and positive; JR's y1 - y2 is a few mV.
    assert np.all(z["observed"][:, occ] > 0) and np.all(z["observed"][:, occ] < 1.0)
    assert np.ptp(z["observed"][:, [0, 1, 3, 4]]) > 1.0
    meta = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert meta["config"]["network"]["groups"]["occipital"]["regions"] == ["*.occ"]
    assert (tmp_path / "out" / "simulation.png").stat().st_size > 10_000


def test_groups_of_one_model_equal_the_homogeneous_config(tmp_path, connectome):
    sim = "t1 = 0.2\ndt = 1e-4\nsave_every = 10\nnoise = 3.0\nseed = 4\nfloat64 = true"
    ps = [100.0, 130.0, 160.0, 190.0, 220.0, 250.0]
    homogeneous = config(
        tmp_path,
        NETWORK.format(sc=connectome) + f'[model]\nname = "JansenRit"\nparams = {{ p = {ps} }}',
        out="hom",
        sim=sim,
    )
    grouped = config(
        tmp_path,
        NETWORK.format(sc=connectome)
        + f"""
        [network.groups.left]
        model = "JansenRit"
        regions = "0:3"
        params = {{ p = {ps[:3]} }}
        [network.groups.right]
        model = "JansenRit"
        regions = ["rh.*"]
        params = {{ p = {ps[3:]} }}
        """,
        out="mix",
        sim=sim,
    )
    assert main(["simulate", str(homogeneous), "--quiet"]) == 0
    assert main(["simulate", str(grouped), "--quiet"]) == 0
    ref = dict(np.load(tmp_path / "hom" / "simulation.npz"))
    got = dict(np.load(tmp_path / "mix" / "simulation.npz"))
    assert np.ptp(ref["observed"]) > 1.0
    np.testing.assert_allclose(got["observed"], ref["observed"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got["y_final"], ref["y_final"], rtol=1e-10, atol=1e-9)


def test_a_sweep_of_group_parameters(tmp_path, connectome):
    cfg = config(
        tmp_path,
        NETWORK.format(sc=connectome)
        + """
        [network.groups.left]
        model = "JansenRit"
        regions = ["lh.*"]
        [network.groups.right]
        model = "JansenRit"
        regions = "rest"
        [sweep]
        features = ["std"]
        [sweep.params]
        "left.p" = [60.0, 220.0]
        """,
        sim="t1 = 0.3\ndt = 1e-4\nnoise = 2.0",
    )
    assert main(["sweep", str(cfg), "--quiet"]) == 0
    with xr.open_dataset(tmp_path / "out" / "sweep" / "sweep.nc", engine="scipy") as ds:
        assert ds["std"].shape == (2,) and np.all(ds["std"].values > 0)


GROUPS = '[network.groups.a]\nmodel = "JansenRit"\nregions = "0:3"\n'
REST = '[network.groups.b]\nmodel = "JansenRit"\nregions = "rest"\n'
BAD = [
    (GROUPS.replace("JansenRit", "Jansen") + REST, "[network.groups.a] model 'Jansen' is not a"),
    (GROUPS, "[network.groups] regions [3, 4, 5] are in no group"),
    (GROUPS + REST.replace('"rest"', "[2, 3]"), "region 2 (lh.occ) is also in group 'a'"),
    (GROUPS + REST.replace('"rest"', "[3, 9]"), "[network.groups.b] regions: index 9 is outside"),
    (GROUPS + REST.replace('"rest"', '["*.nowhere"]'), "no region label matches '*.nowhere'"),
    (GROUPS.replace("0:3", "4:2") + REST, "[network.groups.a] regions '4:2' is not a range"),
    (GROUPS.replace("0:3", "0-3") + REST, "[network.groups.a] regions must be"),
    (GROUPS + REST + "colour = 1\n", "[network.groups.b] unknown key 'colour'"),
    (GROUPS + '[network.groups.b]\nmodel = "JansenRit"\n', "[network.groups.b] missing required"),
    (GROUPS.replace("0:3", "rest") + REST, 'regions = "rest" in several groups (a, b)'),
    (GROUPS + REST + "params = { p = [1.0, 2.0] }\n", "p has 2 values; the group has 3 regions"),
    (GROUPS + REST + "params = { q = 1.0 }\n", "[network.groups.b.params] JansenRit has no"),
    (GROUPS + REST + "efferent_scale = [1.0]\n", "efferent_scale has 1 values; the group has 3"),
    (GROUPS + REST + 'time_scale = "fast"\n', "[network.groups.b] time_scale must be a number"),
    (GROUPS + REST.replace("JansenRit", "WilsonCowan"), "WilsonCowan has dimensionless time"),
    (GROUPS + REST + '[model]\nname = "JansenRit"\n', "[model] and [network.groups] exclude"),
    ("[network.groups]\na = 1\n", "[network.groups] must hold one table per group"),
]


@pytest.mark.parametrize("groups, message", BAD)
def test_bad_group_configs_exit_2_with_one_line(tmp_path, capsys, connectome, groups, message):
    cfg = config(tmp_path, NETWORK.format(sc=connectome) + groups)
    assert main(["simulate", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_commands_without_networks_reject_groups(tmp_path, capsys):
    cfg = tmp_path / "bif.toml"
    cfg.write_text(
        '[network.groups.a]\nmodel = "JansenRit"\nregions = "rest"\n'
        '[bifurcation]\nparam = "p"\nstart = 0.0\nstop = 1.0\n'
    )
    assert main(["bifurcation", str(cfg), "--quiet"]) == 2
    assert "unknown section [network] for `bifurcation`" in capsys.readouterr().err
