"""Every notebook executes top to bottom (in a scratch copy; the committed outputs stay)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
# The default run executes the first notebook (the ladder, about 45 s on 2 cores); the others
# take about a minute (networks, dynamics, sweeps) to several minutes (the real-data fits)
# each and run with `pytest -m slow`, keeping the default run under 15 minutes on 2 cores.
SLOW = {
    "02_networks.ipynb",
    "03_dynamics.ipynb",
    "04_fit_spectra.ipynb",
    "05_fit_fc.ipynb",
    "06_sensitivity.ipynb",
    "07_sweeps.ipynb",
    "08_bayes.ipynb",
    "09_mixed_networks.ipynb",
}
PARAMS = [
    pytest.param(p, id=p.name, marks=pytest.mark.slow if p.name in SLOW else ()) for p in NOTEBOOKS
]


@pytest.mark.parametrize("path", PARAMS)
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors


def test_there_are_notebooks():
    assert any(p.name == "01_ladder.ipynb" for p in NOTEBOOKS)
