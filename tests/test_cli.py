"""The `rosetta-jax` command line: the demo writes its figures and summary."""

import json
import subprocess
import sys

from rosetta_jax.cli import main


def test_demo_writes_a_figure_per_rung(tmp_path):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["rungs"]) == 12
    for rung in summary["rungs"].values():
        assert (out / rung["figure"]).stat().st_size > 10_000
    assert (out / "ladder.png").exists()
    # The rhythms the ladder is known for.
    r = summary["rungs"]
    assert 10.0 < r["04_jansen_rit"]["dominant_frequency"] < 12.0  # alpha
    assert 9.0 < r["04_ei_motif"]["dominant_frequency"] < 13.0
    assert 0.03 < r["05_ing"]["dominant_frequency"] < 0.1  # gamma, in kHz


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_console_script_help():
    res = subprocess.run([sys.executable, "-m", "rosetta_jax.cli", "demo", "--help"],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "rosetta-out" in res.stdout
