"""OVITO adapter of arise: the "ARISE classification" and "ARISE clustering" modifiers.

A thin layer over :mod:`ase_arise`, and the only part of arise that imports ``ovito``:
:mod:`.scan` (the traits, Settings, particle conversion and caching both modifiers share),
:mod:`.modifier` ("ARISE classification"), :mod:`.clustering` ("ARISE clustering"),
:mod:`.structure_types` (named, coloured types), :mod:`.reader` (OVITO's file readers for the
``arise`` command line). The comparisons with OVITO's PTM, CNA and Ackland-Jones live apart, in
:mod:`ovito_arise.benchmarks`, which no runtime module imports.

>>> from ovito.io import import_file                                    # doctest: +SKIP
>>> from ovito_arise import ARISEModifier                               # doctest: +SKIP
>>> pipeline = import_file("dump.lammps")                               # doctest: +SKIP
>>> pipeline.modifiers.append(ARISEModifier(box=16.0, stride=4.0))      # doctest: +SKIP
>>> pipeline.compute().particles["ARISE Structure Type"]                # doctest: +SKIP
"""

from .clustering import ARISEClusteringModifier
from .modifier import ARISEModifier
from .scan import ARISEModifierError

__all__ = ["ARISEClusteringModifier", "ARISEModifier", "ARISEModifierError"]
