"""The inputs of one run, as the analysis receives them: typed, loaded, never read from disk here.

``pipeline.load_inputs`` (the top floor) reads the files through ``geo`` and builds an
:class:`Inputs`; :func:`analysis.run.run_region` analyses it without touching the file system
and without changing it (the dataclasses are frozen; a batch scenario makes its own with
:func:`dataclasses.replace`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from geo.facilities import FacilityLoad
    from geo.population import PopulationLayer
    from geo.provinces import Provinces
    from geo.roads import RoadNetwork
    from geo.trips import TripTable


@dataclass(frozen=True)
class SharedInputs:
    """The facility-independent layers (batch scenarios with the same input key share them).

    Attributes
    ----------
    provinces
        Both province editions and their crosswalk.
    network
        The road network in the metric CRS (``--roads`` or the config's layer).
    population
        The population layer (the config's polygons, or a ``--population`` raster).
    load_s
        Seconds spent reading them.
    """

    provinces: Provinces
    network: RoadNetwork
    population: PopulationLayer
    load_s: float = 0.0


@dataclass(frozen=True)
class Inputs:
    """Everything :func:`analysis.run.run_region` reads.

    Attributes
    ----------
    shared
        Provinces, road network and population (:class:`SharedInputs`).
    facilities
        The facility load (facilities, member sites, rejects and repairs, counts).
    types
        The facility types to analyse, in order.
    capacity
        Throughput and design capacity per facility (None without the official lists).
    grdp_per_head
        GRDP per head per finest area (only when a type's demand is ``economic_huff``).
    trips
        The region's real trips (``[validation] trips_file``), None without one or when the
        file could not be used (a warning said why).
    attribution, data_sources
        The data folder's attribution lines and per-layer sources.
    data_dir, data_origin
        The resolved data folder and how it was chosen.
    load_s
        Seconds spent loading (shared layers included).
    """

    shared: SharedInputs
    facilities: FacilityLoad
    types: tuple[str, ...]
    capacity: pd.DataFrame | None = None
    grdp_per_head: pd.Series | None = None
    trips: TripTable | None = None
    attribution: tuple[str, ...] = ()
    data_sources: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    data_dir: str = ""
    data_origin: str = ""
    load_s: float = 0.0

    @property
    def provinces(self) -> Provinces:
        return self.shared.provinces

    @property
    def network(self) -> RoadNetwork:
        return self.shared.network

    @property
    def population(self) -> PopulationLayer:
        return self.shared.population
