"""The simulation engine: `simulate` (time grid, inputs, engine choice, provenance), the
fixed-step scan (noise stream, step, rematerialisation plan), the delay ring buffer and the
adaptive diffrax path."""

from ._delays import DelayBuffer as DelayBuffer, DelayEdges as DelayEdges
from ._simulate import simulate as simulate
from ._solution import SimulationDivergedError as SimulationDivergedError, Solution as Solution
