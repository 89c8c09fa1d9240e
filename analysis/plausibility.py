"""Warnings for implausible inputs that a run can still use (issue 20)."""

from __future__ import annotations

import numpy as np


def dense_cells_finding(
    population: np.ndarray, *, cell_size_m: float, max_density_per_km2: float
) -> str | None:
    """A data-quality sentence when demand cells exceed a plausible density, else None.

    Parameters
    ----------
    population
        People per demand cell.
    cell_size_m
        Cell side in metres (the region's metric CRS).
    max_density_per_km2
        ``[population] max_density_per_km2`` of the region config (the densest urban wards of
        Viet Nam hold about 50,000 people per km2).

    Returns
    -------
    str or None
        Names the number of cells, the largest density and the limit.
    """
    pop = np.asarray(population, dtype=float)
    if pop.size == 0:
        return None
    density = pop / (cell_size_m / 1000.0) ** 2
    bad = ~np.isfinite(density) | (density > max_density_per_km2)
    if not bad.any():
        return None
    worst = float(np.nanmax(np.where(np.isfinite(density), density, np.inf)))
    return (
        f"Implausible demand: {int(bad.sum()):,} grid cell(s) above {max_density_per_km2:,.0f} "
        f"people per km² (largest {worst:,.3g}); check the population layer, or raise "
        "[population] max_density_per_km2 in the region config if it is right."
    )
