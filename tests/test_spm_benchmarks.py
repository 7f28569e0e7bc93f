"""The SPM benchmark scripts run end to end on small samples (so their figures cannot rot)."""

import pytest

from ase_arise.benchmarks import spm_modes
from ovito_arise import label_speed

pytestmark = pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")


def test_label_speed_prints_ptm_and_arise_rows(capsys):
    label_speed.main(["--atoms", "15000", "--stride", "6"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| PTM") or
            line.startswith("| ARISE")]
    assert len(rows) == 2
    ptm, arise = (row.split("|") for row in rows)
    assert float(ptm[4]) == 1.0 and float(arise[4]) > 0  # × PTM time
    assert 0.5 < float(arise[9]) <= 1.0  # accuracy far from boundaries


def test_spm_modes_compares_both_samples(capsys):
    spm_modes.main(["--length", "30", "--stride", "8"])
    out = capsys.readouterr().out
    assert "four-grain slab (paper)" in out and "periodic polycrystal 30 Å" in out
    for line in out.splitlines():
        if line.startswith("| four") or line.startswith("| periodic"):
            assert 0.0 <= float(line.split("|")[4]) <= 1.0  # argmax agreement
