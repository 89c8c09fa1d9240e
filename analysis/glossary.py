"""The glossary under its former name: every label of the outputs lives in :mod:`analysis.text`.

Kept so that ``from analysis.glossary import term`` goes on working; new code imports from
:mod:`analysis.text`.
"""

from __future__ import annotations

from analysis.text import *  # noqa: F403
from analysis.text import __all__ as __all__
