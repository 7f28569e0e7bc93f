"""OVITO adapter of arise: the "ARISE classification" and "ARISE clustering" modifiers and the
comparisons with OVITO's PTM, CNA and Ackland-Jones. A thin layer over :mod:`ase_arise`, and the
only part of arise that imports ``ovito``.

>>> from ovito.io import import_file                                    # doctest: +SKIP
>>> from ovito_arise import ARISEModifier                               # doctest: +SKIP
>>> pipeline = import_file("dump.lammps")                               # doctest: +SKIP
>>> pipeline.modifiers.append(ARISEModifier(box=16.0, stride=4.0))      # doctest: +SKIP
>>> pipeline.compute().particles["ARISE Structure Type"]                # doctest: +SKIP
"""

from .clustering import ARISEClusteringModifier
from .modifier import ARISEModifier, ARISEModifierError

__all__ = ["ARISEClusteringModifier", "ARISEModifier", "ARISEModifierError"]
