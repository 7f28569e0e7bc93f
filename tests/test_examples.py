"""The bundled examples run and write their figures (so the README's first command cannot rot)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script, expected", [
    ("classify_structures.py", ["fcc Al, 20 % missing         fcc (1.00)", "MoS2 sheet"]),
    ("descriptor_similarity.py", ["most similar prototypes"]),
    ("four_grains_maps.py", ["9087 atoms", "exact mode", "most probable prototype"]),
])
def test_example_runs(tmp_path, script, expected):
    output = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--output", str(output)],
                            capture_output=True, text=True, check=True, cwd=tmp_path)
    assert output.stat().st_size > 10_000
    for text in expected:
        assert text in result.stdout
