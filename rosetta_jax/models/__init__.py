"""The Rosetta ladder of neural mass models, one `eqx.Module` per model.

Rung 0-2 (dimensionless time): `HarmonicOscillator`, `DampedOscillator`, `StuartLandau`,
`Kuramoto`. Rung 3: `WilsonCowan`. Bridge: `MasterNMM`. Rung 4, NMM1 (s, mV): `EIMotif`,
`JansenRit`, `Wendling`, `LaNMM`. Rung 5, NMM2 (ms): `MontbrioPazoRoxin`, `ING`, `PING`.
Synaptic kernels and transfer functions (Castaldo et al. 2026, sections 4.1 and 4.3) are plain
functions. Equations, units, parameters and errata of every model: docs/models.md.
"""

from ._base import AbstractModel as AbstractModel, param as param
from ._synapses import (
    AbstractSynapse as AbstractSynapse,
    FirstOrder as FirstOrder,
    Instantaneous as Instantaneous,
    SecondOrder as SecondOrder,
    alpha_kernel as alpha_kernel,
    biexponential_kernel as biexponential_kernel,
    biexponential_peak_time as biexponential_peak_time,
    exponential_kernel as exponential_kernel,
    synapse_frequency_response as synapse_frequency_response,
)
from ._transfer import (
    eif_rate as eif_rate,
    lif_rate as lif_rate,
    logistic as logistic,
    qif_cauchy_rate as qif_cauchy_rate,
    qif_gaussian_rate as qif_gaussian_rate,
    sigmoid as sigmoid,
)
from .ei_motif import EIMotif as EIMotif
from .jansen_rit import JansenRit as JansenRit
from .lanmm import LaNMM as LaNMM
from .master import MasterNMM as MasterNMM
from .nmm2 import ING as ING, PING as PING, MontbrioPazoRoxin as MontbrioPazoRoxin
from .oscillators import (
    DampedOscillator as DampedOscillator,
    HarmonicOscillator as HarmonicOscillator,
    Kuramoto as Kuramoto,
    StuartLandau as StuartLandau,
)
from .wendling import Wendling as Wendling
from .wilson_cowan import WilsonCowan as WilsonCowan


LADDER = (
    HarmonicOscillator,
    DampedOscillator,
    StuartLandau,
    Kuramoto,
    WilsonCowan,
    EIMotif,
    JansenRit,
    Wendling,
    LaNMM,
    MontbrioPazoRoxin,
    ING,
    PING,
)
"""Every model of the ladder, in rung order."""
