"""The official list of a facility type's units (``[types.<type>.units]`` of the region config)
and the raw attributes of the type's sites that the facility schema does not keep (use tags,
join keys, harbour size). The rules that use them are in :mod:`geo.units`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.config import RegionConfig, config_tables
from geo.errors import ConfigError, InputError
from geo.tabular import ROW, read_table


@dataclass(frozen=True)
class UnitsSpec:
    """The ``[types.<type>.units]`` table of the region config (keys as in the module doc)."""

    file: str
    join: str
    name_field: str = "name_vi"
    id_field: str | None = None
    class_field: str | None = None
    class_map: dict[str, str] = field(default_factory=dict)
    status_field: str | None = None
    status_prefixes: dict[str, str] = field(default_factory=dict)
    province_field: str | None = None
    province_aliases: dict[str, str] = field(default_factory=dict)
    site_province: dict[str, str] = field(default_factory=dict)
    site_key_field: str | None = None
    unlisted: dict[str, str] = field(default_factory=dict)
    lon_field: str | None = None
    lat_field: str | None = None
    exclude_site_classes: dict[str, str] = field(default_factory=dict)
    # sites left out by id, each with its reason (a source row whose point contradicts its name)
    exclude_sites: dict[str, str] = field(default_factory=dict)
    use_fields: tuple[str, ...] = ()
    use_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_uses: tuple[str, ...] = ()


def units_specs(config: RegionConfig) -> dict[str, UnitsSpec]:
    """The types of the config that have official units, with their rules."""
    raw = config_tables(config).get("types", {})
    out = {}
    for t, table in raw.items():
        u = table.get("units") if isinstance(table, dict) else None
        if u is None:
            continue
        where = f"types.{t}.units"
        if not isinstance(u, dict) or "file" not in u or u.get("join") not in ("province63", "key"):
            raise ConfigError(
                f'[{where}] needs \'file\' and join = "province63" or "key"', source=config.path
            )
        try:
            out[t] = UnitsSpec(
                **{
                    **u,
                    "use_fields": tuple(u.get("use_fields", ())),
                    "exclude_uses": tuple(u.get("exclude_uses", ())),
                    "use_patterns": {
                        k: tuple(v) for k, v in dict(u.get("use_patterns", {})).items()
                    },
                }
            )
        except TypeError as exc:
            raise ConfigError(f"[{where}] {exc}", source=config.path) from None
        bad = {k: v for k, v in out[t].status_prefixes.items() if v not in ("operating", "planned")}
        if bad:
            raise ConfigError(
                f"[{where}] status_prefixes {bad}: allowed values are operating, planned",
                source=config.path,
                field="status_prefixes",
            )
    return out


def norm_text(text: object) -> str:
    from geo.facility_source import normalise_name

    return normalise_name(text) if isinstance(text, str) else ""


def classify_use(text: str, patterns: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    """The first use whose pattern occurs as whole words in the normalised ``text``:
    (use, pattern), or ("", "")."""
    padded = f" {norm_text(text)} "
    for use, pats in patterns.items():
        for p in pats:
            if f" {norm_text(p)} " in padded:
                return use, p
    return "", ""


def raw_site_attributes(
    d: Path, config: RegionConfig, type_name: str, spec: UnitsSpec
) -> pd.DataFrame:
    """Per raw row of the type's sources: ``source``, ``source_row``, ``use``, ``use_evidence``,
    ``key`` and ``harbor_size`` (fields the facility schema does not keep)."""
    parts = []
    for src in config.types[type_name].sources:
        path = src.path(d)
        if src.optional and not path.is_file():
            continue
        gdf, _ = read_table(path, layer=src.layer, bbox=config.bbox)
        text = pd.Series("", index=gdf.index, dtype=object)
        for f in spec.use_fields:
            if f in gdf:
                text = text + " " + gdf[f].where(gdf[f].notna(), "").astype(str)
        uses = [classify_use(t, spec.use_patterns) for t in text]
        key = spec.site_key_field
        parts.append(
            pd.DataFrame(
                {
                    "source": f"{src.file}:{src.layer}" if src.layer else src.file,
                    "source_row": gdf[ROW].astype("int64").to_numpy(),
                    "use": [u for u, _ in uses],
                    "use_evidence": [e for _, e in uses],
                    "key": (
                        gdf[key].astype(str).str.strip().str.upper() if key and key in gdf else ""
                    ),
                    "harbor_size": gdf.get("harbor_size", None),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["source", "source_row", "use", "use_evidence", "key", "harbor_size"]
        )
    return pd.concat(parts, ignore_index=True)


def read_units(d: Path, spec: UnitsSpec, type_name: str) -> pd.DataFrame:
    """The official list: ``unit_id``, ``name``, ``key``, ``class``, ``status``, ``data_note``,
    ``province``, ``lon``, ``lat``, ``source_row``."""
    path = d / spec.file
    if not path.is_file():
        raise InputError(
            f"the official list of {type_name} units is missing; rebuild the data folder "
            f"(python -m data.build_default) or remove [types.{type_name}.units] from the config",
            source=str(path),
        )
    tab = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    need = [
        f
        for f in (spec.name_field, spec.id_field, spec.class_field, spec.status_field,
                  spec.province_field, spec.lon_field, spec.lat_field)
        if f
    ]  # fmt: skip
    absent = [f for f in need if f not in tab]
    if absent:
        raise InputError(f"missing column(s) {absent}", source=str(path), field=absent[0])
    name = tab[spec.name_field].str.strip()
    key = tab[spec.id_field].str.strip().str.upper() if spec.id_field else name.map(norm_text)
    if key.eq("").any() or key.duplicated().any():
        bad = int(np.flatnonzero(key.eq("") | key.duplicated())[0]) + 1
        raise InputError(
            "empty or repeated unit id",
            source=str(path),
            row=bad,
            field=spec.id_field or spec.name_field,
        )
    raw_status = (
        tab[spec.status_field].str.strip()
        if spec.status_field
        else pd.Series("operating", index=tab.index)
    )
    status, note = [], []
    for i, s in enumerate(raw_status):
        hit = [v for p, v in spec.status_prefixes.items() if s.casefold().startswith(p.casefold())]
        if spec.status_field and not hit:
            allowed = ", ".join(spec.status_prefixes)
            raise InputError(
                f"status {s!r} starts with none of {allowed}",
                source=str(path),
                row=i + 1,
                field=spec.status_field,
            )
        status.append(hit[0] if hit else "operating")
        note.append(s if spec.status_field and s.casefold() not in spec.status_prefixes else "")
    klass = (
        tab[spec.class_field].map(lambda v: spec.class_map.get(v, v)) if spec.class_field else None
    )
    lon = pd.to_numeric(tab[spec.lon_field], errors="coerce") if spec.lon_field else np.nan
    lat = pd.to_numeric(tab[spec.lat_field], errors="coerce") if spec.lat_field else np.nan
    prov = tab[spec.province_field].str.strip() if spec.province_field else ""
    return pd.DataFrame(
        {
            "unit_id": type_name + ":" + key.str.replace(" ", "-"),
            "name": name,
            "key": key,
            "class": klass,
            "status": status,
            "data_note": note,
            "province": prov,
            "lon": lon,
            "lat": lat,
            "source_row": np.arange(1, len(tab) + 1),
        }
    )
