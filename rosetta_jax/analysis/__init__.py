"""Analysis: equilibria and their bifurcations, linearised statistics."""

from ._dynamics import (
    Branch as Branch,
    FixedPoint as FixedPoint,
    SpecialPoint as SpecialPoint,
    bifurcation_diagram as bifurcation_diagram,
    classify as classify,
    continuation as continuation,
    fixed_points as fixed_points,
    jacobian as jacobian,
)
from ._lyapunov import lyapunov_covariance as lyapunov_covariance
from ._linear import LinearSpectrum as LinearSpectrum, linear_spectrum as linear_spectrum
from ._translate import (
    NormalForm as NormalForm,
    damped_modes as damped_modes,
    normal_form as normal_form,
    phase_reduction as phase_reduction,
    translate as translate,
)
