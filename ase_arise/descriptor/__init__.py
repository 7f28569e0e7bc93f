"""Stage 2 of the pipeline: the ARISE descriptor of a structure or of every atom.

:mod:`.dnn` (the length unit d_NN) and :mod:`.local_dnn` (fast mode's local d_NN) →
:mod:`.neighbors` (periodic images, cell lists) → :mod:`.soap` (QUIP's SOAP basis and power
spectrum; numba kernels in ``_soap_kernels``, ``_centre_kernels`` and ``_spectrum_kernels``)
→ :mod:`.arise`
(:class:`ARISEDescriptor`: the averaged SOAP of the d_NN-scaled species-pair substructures, per
structure or per atom; many structures batched by :mod:`.averaged`, small open ones planned
together by :mod:`.clusters`; pair sums to descriptors in :mod:`.pair_sums`).
"""

from .arise import ARISEDescriptor, AtomicCoefficients, descriptor
from .dnn import dnn_from_distances, nearest_neighbor_distance, nearest_neighbor_distances
from .local_dnn import local_length_units

__all__ = ["ARISEDescriptor", "AtomicCoefficients", "descriptor", "dnn_from_distances",
           "local_length_units", "nearest_neighbor_distance", "nearest_neighbor_distances"]
