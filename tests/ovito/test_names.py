"""The OVITO modifiers' traits carry the names of ase_arise.Settings; the options that exist on
one surface only are listed here, so that a new setting cannot go missing or get a second name."""

from ase_arise import Settings
from ovito_arise import ARISEClusteringModifier, ARISEModifier

# Settings that a modifier has no trait for: set by the modifier itself, or not offered.
NOT_A_TRAIT = {
    ARISEModifier: {"axes"},  # the scan covers every periodic axis and every long open one
    # the clusters need descriptors only: one dropout pass, no adaptive sampling, no seed,
    # no Other decision
    ARISEClusteringModifier: {"axes", "per_atom", "n_samples", "tolerance", "random_state",
                              "min_anisotropy"},
}
# Traits that are not settings: how particles become atoms, and what is written back.
MODIFIER_ONLY = {
    ARISEModifier: {"species", "only_selected", "output_probabilities", "top_k", "prototypes",
                    "color_by_type"},
    ARISEClusteringModifier: {"species", "only_selected", "layer", "activation",
                              "min_cluster_size", "min_samples", "soft_threshold",
                              "color_by_cluster"},
}


def test_traits_are_the_settings_fields():
    fields = set(Settings.fields())
    for modifier, missing in NOT_A_TRAIT.items():
        traits = set(modifier.class_editable_traits())
        assert fields - missing <= traits, (modifier.__name__, fields - missing - traits)
        assert traits - fields == MODIFIER_ONLY[modifier], modifier.__name__


def test_trait_defaults_are_the_settings_defaults(model):
    settings = ARISEModifier().settings()
    assert settings == Settings(n_samples=None)
    assert settings.passes == model.default_n_samples
    clustering = ARISEClusteringModifier().settings()
    assert (clustering.box, clustering.stride, clustering.mode, clustering.min_atoms) == (
        Settings().box, Settings().stride, Settings().mode, Settings().min_atoms)
