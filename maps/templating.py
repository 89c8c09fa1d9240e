"""The one Jinja environment of the package: the report and the batch report render their
templates (``maps/templates``) through it, autoescaped (text from data is untrusted)."""

from __future__ import annotations

from pathlib import Path

import jinja2

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
