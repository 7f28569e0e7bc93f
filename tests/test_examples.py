"""The bundled examples run and write their figures (so the README's first command cannot rot)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script, options, expected", [
    ("classify_structures.py", [], ["fcc Al, 20 % missing         fcc (1.00)", "MoS2 sheet"]),
    ("descriptor_similarity.py", [], ["most similar prototypes"]),
    ("four_grains_maps.py", [], ["9087 atoms", "exact mode", "most probable prototype"]),
    # renders with OVITO's Tachyon renderer: needs libvulkan1 and mesa-vulkan-drivers
    ("ovito_ptm_vs_arise.py", ["--remove", "0.2", "--size", "300"],
     ["7221 atoms (20% removed)", "PTM    Other 9", "ARISE  diamond"]),
])
def test_example_runs(tmp_path, script, options, expected):
    output = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--output", str(output)]
                            + options, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert output.stat().st_size > 10_000
    for text in expected:
        assert text in result.stdout
