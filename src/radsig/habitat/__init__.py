"""radsig.habitat: intratumour-heterogeneity (habitat) features fitted on training tumours."""

from __future__ import annotations

from radsig.habitat.clustering import HabitatClusterer
from radsig.habitat.ith import habitat_features
from radsig.habitat.local_maps import local_feature_maps, voxel_features
from radsig.habitat.pipeline import fit_habitats, habitat_case, label_map

__all__ = ["HabitatClusterer", "fit_habitats", "habitat_case", "habitat_features", "label_map",
           "local_feature_maps", "voxel_features"]
