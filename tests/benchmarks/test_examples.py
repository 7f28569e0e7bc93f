"""The bundled examples run and write their figures (so the README's first command cannot rot)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("script, options, expected", [
    ("classify_structures.py", [], ["fcc Al, 20 % missing         fcc (1.00)", "MoS2 sheet"]),
    ("descriptor_similarity.py", [], ["most similar prototypes"]),
    ("four_grains_maps.py", [], ["9087 atoms", "exact mode", "most probable prototype"]),
    # quick: stride 6 Å (190 boxes) and a PCA map (t-SNE and UMAP: tests/test_analysis.py)
    ("four_grains_clusters.py", ["--stride", "6", "--embedding", "pca"],
     ["190 with a prediction", "hidden layer 3 (before the ReLU): 4 clusters",
      "% predicted fcc", "% predicted bcc", "outliers :", "2D map: pca"]),
    # renders with OVITO's Tachyon renderer: needs libvulkan1 and mesa-vulkan-drivers
    ("ovito_ptm_vs_arise.py", ["--remove", "0.2", "--size", "300"],
     ["7221 atoms (20% removed)", "PTM    Other 9", "ARISE  diamond"]),
    # quick: a 72 Å cell and 12 Å boxes (the paper's 120 Å cell takes ~2 min)
    ("superalloy_precipitate.py", ["--length", "72", "--box", "12", "--stride", "6"],
     ["32000 atoms", "IoU of the atoms labelled L1_2 with the precipitate", "in the matrix"]),
    ("bain_path.py", ["--ratio-step", "0.1", "--a-step", "1.5"],
     ["48 body-centred tetragonal geometries", "c/a = 1 (bcc)        -> bcc",
      "c/a = sqrt 2 (fcc)   -> fcc", "the same winner for every a at 16 of 16 c/a values"]),
])
def test_example_runs(tmp_path, script, options, expected):
    output = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--output", str(output)]
                            + options, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert output.stat().st_size > 10_000
    for text in expected:
        assert text in result.stdout
