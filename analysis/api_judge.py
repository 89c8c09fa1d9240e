"""Area matrices, the joint redundancy verdict and the minimal cover in the notebook API
(``analysis.api``): adapters from :class:`analysis.api_catchments.Catchments` to the block
functions the run uses (``analysis.block_sets``, ``analysis.verdict_blocks``,
``analysis.blocks``, ``analysis.covering``), each a pass over the facility blocks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import covering
from analysis.api_catchments import Catchments, cell_reduction, check_breaks
from analysis.block_sets import (
    covering_input,
    province_bits,
    province_matrices_from_bits,
)
from analysis.cell_sets import facility_sets
from analysis.redundancy import removal_penalty
from analysis.verdict import VerdictRule, facility_size
from analysis.verdict_blocks import judge_blocks


def province_matrices(
    catch: Catchments, *, breaks_min: Sequence[float] | None = None
) -> pd.DataFrame:
    """People shared between areas, long format (``analysis.overlap.province_matrices``, from
    the cells' merged area sets: ``analysis.block_sets.province_matrices_from_bits``).

    Returns
    -------
    pandas.DataFrame
        ``province_a``, ``province_b``, ``break_min``, ``served_by`` (people living in A within
        the break of an existing facility located in B) and ``duplicated`` (people within the
        break of a facility of A and of one of B, A != B); only pairs with a nonzero value.
    """
    people = catch.demand.grid.population
    codes = catch.demand.areas["area_id"].astype(str).to_numpy()
    frames = []
    for b in check_breaks(catch, breaks_min):
        bits = province_bits(
            catch.blocks(),
            threshold_s=b * 60.0,
            base=catch.exists,
            fac_prov=catch.area_index,
            n_prov=codes.size,
        )
        served, dup, _ = province_matrices_from_bits(
            bits, people, catch.demand.grid.area, codes.size
        )
        a, bb = np.nonzero((served > 0) | (dup > 0))
        frames.append(
            pd.DataFrame(
                {
                    "province_a": codes[a],
                    "province_b": codes[bb],
                    "break_min": b,
                    "served_by": served[a, bb],
                    "duplicated": dup[a, bb],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def verdict(
    catch: Catchments,
    *,
    threshold_min: float,
    max_unique_share: float = 0.25,
    min_other_province_share: float = 0.5,
    max_loss_share: float = 0.02,
    equivalent_share: float = 0.8,
    keep_one_min: int = 3,
    variants_min: Sequence[float] = (),
) -> pd.DataFrame:
    """The joint redundancy verdict and each facility's removal penalty at ``threshold_min``.

    Parameters
    ----------
    catch
        From :func:`analysis.api.catchments`; ``threshold_min`` must be within its largest break.
    max_unique_share, min_other_province_share
        The overlap flag: unique share below the first and at least the second share of the
        coverage also within reach of a facility in another area.
    max_loss_share, equivalent_share, keep_one_min
        The verdict's bounds (``analysis.verdict.VerdictRule``; METHOD.md, "Redundancy verdict").
    variants_min
        Other thresholds (minutes) under which the flag and verdict must hold to be ``robust``;
        each within the catchments' largest break, as ``threshold_min``.

    Returns
    -------
    pandas.DataFrame
        One row per facility (sorted by ``facility_id``): ``coverage``, ``unique_share``,
        ``other_province_share``, ``overlap_flag``, ``overlap_robust``, ``verdict``,
        ``verdict_robust``, ``severity``, ``verdict_rank``, ``verdict_reason``, ``removal_lost``
        (people losing access within the threshold if it alone closed), ``removal_penalty_min``
        (mean extra minutes of those who keep access) and ``best_alternative_id``. The frame's
        ``attrs`` hold the set's ``loss_share`` and ``lost_people``.

    Notes
    -----
    Demand is people. The full run's per-type demand (Huff shares, economic mass, labour pools),
    its exempt classes and its over-capacity rule need the region's tables and stay in
    ``analysis.layers.analyse_type``; on plain people both give the same verdict
    (``tests/test_saopaulo.py``).
    """
    (t_min,) = check_breaks(catch, (threshold_min,))
    check_breaks(catch, (t_min, *variants_min))
    people = catch.demand.grid.population
    base, ids, area = catch.exists, catch.ids, catch.area_index
    red = cell_reduction(catch, (t_min,))  # coverage and the nearest two, merged over blocks
    coverage = red.coverage[0]
    rule = VerdictRule(
        max_unique_share=max_unique_share,
        min_other_province_share=min_other_province_share,
        max_loss_share=max_loss_share,
        equivalent_share=equivalent_share,
        keep_one_min=keep_one_min,
    )
    j = judge_blocks(
        catch.blocks,
        people,
        people,
        threshold_s=t_min * 60.0,
        variants_s=tuple(v * 60.0 for v in variants_min),
        fac_prov=area,
        n_prov=len(catch.demand.areas),
        base=base,
        size=facility_size(catch.facilities, coverage),
        ids=ids,
        rule=rule,
    )
    rm = removal_penalty(red.f1, red.t1, red.f2, red.t2, people, coverage, threshold_s=t_min * 60.0)
    vd = j.verdict
    out = pd.DataFrame(
        {
            "facility_id": ids,
            "threshold_min": t_min,
            "coverage": coverage,
            "unique_share": j.unique_share,
            "other_province_share": j.other_province_share,
            "overlap_flag": j.overlap_flag,
            "overlap_robust": j.overlap_robust,
            "verdict": vd.verdict,
            "verdict_robust": j.verdict_robust,
            "severity": vd.severity,
            "verdict_rank": vd.rank,
            "verdict_reason": vd.reason.astype(str),
            "removal_lost": np.where(base, rm.lost, np.nan),
            "removal_penalty_min": np.where(base, rm.penalty_min, np.nan),
            "best_alternative_id": np.where(
                rm.alt_index >= 0, ids[np.maximum(rm.alt_index, 0)], ""
            ),
        }
    )
    out.attrs.update(loss_share=vd.loss_share, lost_people=vd.lost_people)
    return out


def minimal_cover(
    catch: Catchments, *, threshold_min: float, time_limit_s: float = 60.0
) -> pd.DataFrame:
    """The fewest existing facilities that keep every person reached today within reach
    (``analysis.covering.minimal_cover``, an exact MIP solved by HiGHS).

    Returns
    -------
    pandas.DataFrame
        ``facility_id``, ``in_cover`` (bool) for every facility; ``attrs`` hold ``n_chosen``,
        ``n_candidates``, ``covered_people`` and ``optimal``.
    """
    (t_min,) = check_breaks(catch, (threshold_min,))
    sets = facility_sets(
        catch.blocks,
        threshold_s=t_min * 60.0,
        n_fac=catch.store.n_fac,
        n_cells=catch.store.n_cells,
    )
    people = catch.demand.grid.population
    res = covering.minimal_cover(
        covering_input(sets, people, candidates=catch.exists),
        people,
        candidates=catch.exists,
        time_limit_s=time_limit_s,
    )
    chosen = np.zeros(len(catch.ids), bool)
    chosen[res.chosen] = True
    out = pd.DataFrame({"facility_id": catch.ids, "threshold_min": t_min, "in_cover": chosen})
    out.attrs.update(
        n_chosen=res.n_chosen,
        n_candidates=res.n_candidates,
        covered_people=res.covered_people,
        optimal=res.optimal,
    )
    return out
