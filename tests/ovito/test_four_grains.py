"""The paper's four-grain polycrystal (Fig. 2a-c, Supp. Fig. 4): ARISE against PTM's grains."""

import numpy as np
import pytest
from ase.io import read

from ase_arise.build import four_grains_path
from ovito_arise.benchmarks.grains import (INTERIOR, TRUTH, defective_sample,
                                         ground_truth, ptm_interior_accuracy, score)

pytestmark = pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")


@pytest.fixture(scope="module")
def pristine():
    return ground_truth(read(four_grains_path(), format="xyz"))


def test_ptm_ground_truth(pristine):
    assert len(pristine) == 9087
    assert pristine.info["ptm_truth_names"] == ["bcc", "diamond", "fcc", "hcp"]
    assert pristine.arrays[INTERIOR].sum() == 2025
    assert (pristine.arrays[TRUTH] == -1).sum() == 4201  # PTM "Other"


@pytest.mark.slow
@pytest.mark.parametrize("defects", [False, True], ids=["pristine", "20% missing + 1% shifted"])
def test_interior_atoms_and_boundary_uncertainty(pristine, defects):
    sample = defective_sample(pristine, random_state=0) if defects else pristine
    result = score(sample, box=16.0, stride=3.0)
    assert result["interior_accuracy"] >= 0.95
    assert result["boundary_auc"] >= 0.8
    by_grain = result["by_grain"]
    assert set(by_grain) == {"bcc", "diamond", "fcc", "hcp"}
    assert sum(part["n_interior_boxes"] for part in by_grain.values()) == \
        result["n_interior_boxes"]
    # the measured limits of the AUC (docs/BENCHMARKS.md): perfect hcp grains carry MI
    # ~0.07 bit (their c/a lies between the hcp and α-Sm prototypes), diamond-majority
    # boundary boxes are called diamond with MI ~0 (a metal grain in them looks like
    # missing diamond atoms)
    assert 0.02 < by_grain["hcp"]["median_mi_interior"] < 0.2
    # within each grain MI ranks boundary boxes above interior ones (0.90-0.97 measured)
    assert min(part["auc"] for part in by_grain.values()) >= 0.88
    assert by_grain["diamond"]["median_mi_boundary"] < 0.05
    if defects:  # where PTM gets almost nothing right (paper Supp. Fig. 4)
        assert ptm_interior_accuracy(sample) < 0.2
        assert len(sample) == round(0.8 * len(pristine))
        assert np.isin(np.unique(sample.arrays[TRUTH]), [-1, 0, 1, 2, 3]).all()
