"""OVITO adapter of arise: thin layer over :mod:`ase_arise` for OVITO pipelines.

This package will hold the "ARISE classification" modifier and the benchmark against OVITO's
PTM, CNA, adaptive CNA and Ackland-Jones; until the modifier lands it exports nothing. It is the
only part of arise that imports ``ovito``.
"""
