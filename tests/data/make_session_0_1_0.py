"""Save tests/data/session_0.1.0.ovito: an OVITO session state written by arise 0.1.0 (trait names
random_seed, per_particle, model_path), kept to prove that renamed traits still load.

Run with arise 0.1.0 installed (commit 0893f6c): python tests/data/make_session_0_1_0.py OUT.ovito
"""
import sys
from ase.build import bulk
from ovito.io.ase import ase_to_ovito
from ovito.pipeline import Pipeline, StaticSource
import ovito
from ovito_arise import ARISEModifier, ARISEClusteringModifier

data = ase_to_ovito(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4))
pipeline = Pipeline(source=StaticSource(data=data))
pipeline.modifiers.append(ARISEModifier(box=12.0, stride=5.0, random_seed=7, per_particle=False,
                                        model_path="", n_samples=30, tolerance=0.0))
pipeline.modifiers.append(ARISEClusteringModifier(box=12.0, stride=5.0, model_path=""))
pipeline.add_to_scene()
ovito.scene.save(sys.argv[1])
print("saved")
