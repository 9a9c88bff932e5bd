"""Analysis: signal features (spectra, peaks, specparam-style fits, FC, FCD, phase measures,
entrainment), equilibria and their bifurcations, linearised spectra and covariances, and
rung-to-rung translation."""

from ._bifurcations import SpecialPoint as SpecialPoint
from ._continuation import Branch as Branch, continuation as continuation
from ._diagram import bifurcation_diagram as bifurcation_diagram
from ._dynamics import (
    FixedPoint as FixedPoint,
    classify as classify,
    equilibrium as equilibrium,
    fixed_points as fixed_points,
    jacobian as jacobian,
    stable_equilibrium as stable_equilibrium,
)
from ._linear import (
    LinearSpectrum as LinearSpectrum,
    linear_covariance as linear_covariance,
    linear_fc as linear_fc,
    linear_spectrum as linear_spectrum,
)
from ._lyapunov import lyapunov_covariance as lyapunov_covariance
from ._signal import (
    analytic_phase as analytic_phase,
    analytic_signal as analytic_signal,
    band_power as band_power,
    entrainment as entrainment,
    fcd as fcd,
    frequency_ratio as frequency_ratio,
    functional_connectivity as functional_connectivity,
    mean_frequency as mean_frequency,
    order_parameter as order_parameter,
    peak_frequency as peak_frequency,
    phase_locking_value as phase_locking_value,
    welch as welch,
)
from ._specparam import (
    SpectrumFit as SpectrumFit,
    fit_aperiodic as fit_aperiodic,
    fit_spectrum as fit_spectrum,
)
from ._translate import (
    NormalForm as NormalForm,
    damped_modes as damped_modes,
    normal_form as normal_form,
    phase_reduction as phase_reduction,
    translate as translate,
)
