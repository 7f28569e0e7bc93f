"""ARISE against OVITO's PTM, CNA, a-CNA and Ackland-Jones (and spglib): the benchmark harness.

``python -m ovito_arise.benchmarks.<name>``: :mod:`.protocol` (the paper's defect protocol,
Table 2 and Supp. Tables 1-3; also ``arise benchmark``), :mod:`.polycrystal` (per-atom accuracy
on periodic polycrystals), :mod:`.grains` (the four-grain sample), :mod:`.clusters` (clusters
vs grains), :mod:`.label_speed` (10^6 atoms vs PTM); :mod:`.peers` runs the OVITO methods.
Needs the ``benchmark`` extra (OVITO, spglib). Runtime modules never import this package.
"""
