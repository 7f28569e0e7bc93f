"""The paper's descriptor computed by QUIP itself (quippy-ase): the oracle of our SOAP.

Per ordered species pair (a, b): keep the a- and b-atoms, divide positions and cell by
d_NN(a, b) * extrinsic_scaling, and run QUIP with the paper's option string
``soap cutoff=... l_max=6 n_max=9 atom_sigma=... n_Z=1 Z={a} n_species=1 species_Z={b}
central_weight=0.0 average=True``; the pair vectors are averaged. d_NN comes from
``ase_arise.descriptor`` (it is tested on its own). quippy-ase has wheels for Python 3.11 on
Linux only, so importing this module needs it.
"""

import numpy as np
import quippy.descriptors

from ase_arise.descriptor import ARISEDescriptor

OPTIONS = ("soap cutoff={r_cut} l_max=6 n_max=9 atom_sigma={sigma} n_Z=1 Z={{{a}}} "
           "n_species=1 species_Z={{{b}}} central_weight=0.0 average=True")


def quip_descriptor(atoms, r_cut=4.0, sigma=0.1, extrinsic_scaling=1.0):
    """The paper's averaged SOAP of ``atoms`` by QUIP, shape (316,)."""
    dnn = ARISEDescriptor(r_cut=r_cut, sigma=sigma).pair_nn_distances(atoms)
    vectors = []
    for (a, b), d in sorted(dnn.items()):
        if not np.isfinite(d):
            continue
        keep = np.isin(atoms.numbers, [a, b])
        sub = atoms[keep]
        unit = d * extrinsic_scaling
        sub.set_cell(sub.cell[:] / unit, scale_atoms=False)
        sub.positions = atoms.positions[keep] / unit
        calc = quippy.descriptors.Descriptor(OPTIONS.format(r_cut=r_cut, sigma=sigma, a=a, b=b))
        vectors.append(calc.calc(sub)["data"][0])
    return np.mean(vectors, axis=0)
