"""The paper's four-grain polycrystal (Fig. 2a-c, Supp. Fig. 4): ARISE against PTM's grains."""

import numpy as np
import pytest
from ase.io import read

from ovito_arise.grain_benchmark import (FOUR_GRAINS, INTERIOR, TRUTH, defective_sample,
                                         ground_truth, ptm_interior_accuracy, score)

pytestmark = pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")


@pytest.fixture(scope="module")
def pristine():
    return ground_truth(read(FOUR_GRAINS))


def test_ptm_ground_truth(pristine):
    assert len(pristine) == 9087
    assert pristine.info["ptm_truth_names"] == ["bcc", "diamond", "fcc", "hcp"]
    assert pristine.arrays[INTERIOR].sum() == 2025
    assert (pristine.arrays[TRUTH] == -1).sum() == 4201  # PTM "Other"


@pytest.mark.parametrize("defects", [False, True], ids=["pristine", "20% missing + 1% shifted"])
def test_interior_atoms_and_boundary_uncertainty(pristine, defects):
    sample = defective_sample(pristine, random_state=0) if defects else pristine
    result = score(sample, box=16.0, stride=3.0)
    assert result["interior_accuracy"] >= 0.95
    assert result["boundary_auc"] >= 0.8
    if defects:  # where PTM gets almost nothing right (paper Supp. Fig. 4)
        assert ptm_interior_accuracy(sample) < 0.2
        assert len(sample) == round(0.8 * len(pristine))
        assert np.isin(np.unique(sample.arrays[TRUTH]), [-1, 0, 1, 2, 3]).all()
