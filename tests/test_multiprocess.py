"""Multi-process sweeps for real: two processes joined by `jax.distributed.initialize`
(localhost coordinator, CPU) share one sweep directory, as the hosts of a cluster job would."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rosetta_jax as rj


JOBS = Path(__file__).with_name("jobs.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run_pair(path, tmp_path, kill_after=(None, None), timeout=300):
    """Start processes 0 and 1 of one sweep; return their exit codes, the chunks each
    computed (None if it did not finish) and the ends of their logs."""
    port = _free_port()
    procs, outs, logs = [], [], []
    for pid in (0, 1):
        out, log = tmp_path / f"out{pid}_{port}.npz", tmp_path / f"log{pid}_{port}.txt"
        args = [sys.executable, str(JOBS), "distributed", str(path), str(out), str(pid), str(port)]
        if kill_after[pid] is not None:
            args.append(str(kill_after[pid]))
        with open(log, "w") as f:
            procs.append(
                subprocess.Popen(
                    args,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "JAX_PLATFORMS": "cpu"},
                )
            )
        outs.append(out)
        logs.append(log)
    codes = [p.wait(timeout=timeout) for p in procs]
    done = [dict(np.load(o))["computed"].tolist() if o.exists() else None for o in outs]
    return codes, done, [log.read_text()[-3000:] for log in logs]


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_two_processes_share_one_sweep_and_a_killed_one_resumes(tmp_path):
    import jobs

    reference = jobs.sweep_job(None, chunk_size=2)  # one process, same chunks and keys

    # 12 samples in chunks of 2: process 0 runs chunks 0, 2, 4; process 1 runs 1, 3, 5.
    both = tmp_path / "both"
    codes, done, logs = _run_pair(both, tmp_path)
    assert codes == [0, 0], logs
    assert done == [[0, 2, 4], [1, 3, 5]]
    merged = rj.load_sweep(both)
    for name in ("mean", "std", "peak_frequency"):
        np.testing.assert_array_equal(merged[name].values, reference[name].values)

    # Process 1 is killed (SIGKILL) after its first chunk; process 0 finishes its share (it
    # may then abort: the coordinator reports the lost peer). The sweep is incomplete...
    killed = tmp_path / "killed"
    codes, done, logs = _run_pair(killed, tmp_path, kill_after=(None, 1))
    assert codes[1] == -9 and done[1] is None, logs
    with pytest.raises(ValueError, match=r"incomplete: chunks \[3, 5\]"):
        rj.load_sweep(killed)
    # ...until both are started again: process 0 has nothing left, process 1 resumes its share.
    codes, done, logs = _run_pair(killed, tmp_path)
    assert codes == [0, 0], logs
    assert done == [[], [3, 5]]
    merged = rj.load_sweep(killed)
    for name in ("mean", "std", "peak_frequency"):
        np.testing.assert_array_equal(merged[name].values, reference[name].values)
