"""Traits renamed in 0.2.0 still load: from session states saved by 0.1.0, and as keywords."""

from pathlib import Path

import numpy as np
import ovito
import pytest

from ovito_arise import ARISEClusteringModifier, ARISEModifier
from ovito_arise.scan import RENAMED_TRAITS

SESSION = Path(__file__).resolve().parents[1] / "data" / "session_0.1.0.ovito"


def test_session_state_of_0_1_0_loads_with_the_new_names():
    ovito.scene.load(str(SESSION))
    try:
        pipeline = ovito.scene.pipelines[0]
        classification, clustering = (m.delegate for m in pipeline.modifiers)
        assert isinstance(classification, ARISEModifier)
        assert isinstance(clustering, ARISEClusteringModifier)
        assert (classification.box, classification.stride) == (12.0, 5.0)
        assert classification.random_state == 7        # saved as random_seed
        assert classification.per_atom is False        # saved as per_particle
        assert classification.model == ""             # saved as model_path
        assert classification.n_samples == 30
        data = pipeline.compute()
        assert data.attributes["ARISE.boxes"] > 0
        types = np.asarray(data.particles["ARISE Structure Type"])
        assert (types > 0).all()
    finally:
        for pipeline in list(ovito.scene.pipelines):
            pipeline.remove_from_scene()


@pytest.mark.parametrize("old, new", sorted(RENAMED_TRAITS.items()))
def test_old_trait_keywords_warn_and_set_the_new_trait(old, new):
    value = {"random_seed": 5, "per_particle": True, "model_path": ""}[old]
    with pytest.warns(DeprecationWarning, match=f"'{old}'.*'{new}'"):
        modifier = ARISEModifier(**{old: value})
    assert getattr(modifier, new) == value
    with pytest.raises(TypeError, match="both"):
        ARISEModifier(**{old: value, new: value})
