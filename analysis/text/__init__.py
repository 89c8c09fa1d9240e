"""Every word and number format of the outputs, once, in Vietnamese and English (issue 17 item 3,
issue 18 item 3): the tool's one text module.

The map, the report, the batch report, the GeoPackage aliases, the QGIS styles and project and
the spreadsheets take their words and number formats from here, so that a term is defined once
and read the same everywhere. By concept:

- :mod:`analysis.text.formats`: numbers, shares, minutes and dates per language;
- :mod:`analysis.text.terms`: terms and coded values, province display names, statuses, classes;
- :mod:`analysis.text.fields`: GeoPackage layer, table and column names and descriptions;
- :mod:`analysis.text.quality`: the data-quality section's labels and road classes;
- :mod:`analysis.text.notes`: data notes and free-text columns as Vietnamese sentences;
- :mod:`analysis.text.batch`: the batch (scenario comparison) report's headings and sentences.

``analysis.glossary`` is the same names under their former module.
"""

from __future__ import annotations

from analysis.text.fields import FIELD_TEXT, LAYER_TEXT, PER_TYPE_TEXT, field_description_vi
from analysis.text.formats import DASH, fmt_date, fmt_dec, fmt_int, fmt_min, fmt_pct, fmt_people
from analysis.text.notes import TRANSLATED_COLUMNS, note_text, with_vietnamese_text
from analysis.text.quality import (
    NETWORK_METRICS,
    QUALITY_FIELDS,
    QUALITY_TABLES,
    REPAIR_NOTES_VI,
    REPAIR_TEXT,
    ROAD_CLASSES,
    road_class_label,
)
from analysis.text.terms import (
    DEMAND_SOURCES,
    GROUP_TEXT,
    PROV_METHOD,
    PROVINCE_DISPLAY,
    RASTER_TEXT,
    TERMS,
    class_label,
    demand_source_text,
    pick,
    prov_method_label,
    province_name,
    province_names_in_text,
    term,
)

__all__ = [
    "DASH",
    "DEMAND_SOURCES",
    "FIELD_TEXT",
    "GROUP_TEXT",
    "LAYER_TEXT",
    "NETWORK_METRICS",
    "PER_TYPE_TEXT",
    "PROVINCE_DISPLAY",
    "PROV_METHOD",
    "QUALITY_FIELDS",
    "QUALITY_TABLES",
    "RASTER_TEXT",
    "REPAIR_NOTES_VI",
    "REPAIR_TEXT",
    "ROAD_CLASSES",
    "TERMS",
    "TRANSLATED_COLUMNS",
    "class_label",
    "demand_source_text",
    "field_description_vi",
    "fmt_date",
    "fmt_dec",
    "fmt_int",
    "fmt_min",
    "fmt_pct",
    "fmt_people",
    "note_text",
    "pick",
    "prov_method_label",
    "province_name",
    "province_names_in_text",
    "road_class_label",
    "term",
    "with_vietnamese_text",
]
