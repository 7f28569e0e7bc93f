"""A fine-tuned model (A15 Cr3Si added) in an OVITO pipeline: its class as a named type."""

import numpy as np
import pytest
from conftest import A15
from ovito.io.ase import ase_to_ovito
from ovito.pipeline import Pipeline, StaticSource

from ase_arise import defective_copy
from ase_arise.benchmarks.finetune import cr3si
from ovito_arise import ARISEModifier


@pytest.mark.slow
def test_added_model_in_ovito(a15_model):
    """A tiny OVITO pipeline labels A15 atoms with the new class and its own type."""
    atoms = defective_copy(cr3si() * 5, displacement=0.01, missing=0.05, random_state=3)
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(atoms)))
    pipeline.modifiers.append(ARISEModifier(model=str(a15_model), stride=6.0,
                                            output_probabilities="selected prototypes",
                                            prototypes=f"{A15}, FeSi"))
    data = pipeline.compute()
    types = data.particles["ARISE Structure Type"]
    names = {t.id: t.name for t in types.types}
    # "No prediction" + 109 classes + "Other"
    assert names[109] == A15 and names[110] == "Other" and len(names) == 111
    assert np.mean(np.asarray(types) == 109) > 0.95
    assert data.attributes[f"ARISE.counts.{A15}"] == int(np.sum(np.asarray(types) == 109))
    assert data.attributes["ARISE.model"].startswith("arise-a15.onnx")
    assert data.particles["ARISE Probabilities"].component_names == ("A15_Cr3Si", "FeSi")
