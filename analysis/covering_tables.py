"""Covering output tables and sentences: the minimal cover and the coverage curve of a type,
per break, as the ``covering``, ``coverage_curve`` and ``cover_members`` tables.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.catchments import TravelTimes
from analysis.covering import EXACT_WORK, CoverResult, Reduced, minimal_cover
from analysis.covering_curve import coverage_curve
from geo.config import TypeConfig

log = logging.getLogger(__name__)


def _pct(share: float) -> str:
    """Whole percent, rounded down below 100 % so that 99.6 % never reads as everyone."""
    if share >= 1 - 1e-12:
        return "100%"
    return f"{min(int(np.floor(100 * share)), 99)}%"


def cover_sentence(
    *,
    p: int,
    n: int,
    share: float,
    label_vi: str,
    label_en: str,
    threshold_min: float,
    region_vi: str = "",
    region_en: str = "",
) -> tuple[str, str]:
    """A curve point in words, Vietnamese and English.

    Parameters
    ----------
    p, n
        Facilities chosen and facilities in total.
    share
        Coverage of the p as a share of the coverage of all n (0..1); shown in whole percent,
        rounded down below 100 %.
    label_vi, label_en
        The type's labels (``TypeConfig.label_vi`` / ``label_en``), e.g. "Cảng biển", "Seaport".
    threshold_min
        The break, minutes by road.
    region_vi, region_en
        Where, e.g. "Việt Nam" / "Viet Nam"; omitted when empty.

    Returns
    -------
    tuple of str
        (vi, en), e.g. "7 of the 19 seaports of Viet Nam reach 98% of the people that all 19
        reach within 120 min by road."
    """
    t = f"{threshold_min:g}"
    en_type = label_en.lower() + "s"
    vi_type = label_vi[:1].lower() + label_vi[1:]
    of_en = f" of {region_en}" if region_en else ""
    of_vi = f" của {region_vi}" if region_vi else ""
    pct = _pct(share)
    if pct == "100%":
        en = f"{p} of the {n} {en_type}{of_en} keep within {t} min by road everyone that all {n} reach."
        vi = f"{p} trong số {n} {vi_type}{of_vi} vẫn giữ được mọi người mà cả {n} {vi_type} tiếp cận trong {t} phút đường bộ."
    else:
        en = f"{p} of the {n} {en_type}{of_en} reach {pct} of the people that all {n} reach within {t} min by road."
        vi = f"{p} trong số {n} {vi_type}{of_vi} tiếp cận {pct.replace('%', ' %')} số người mà cả {n} {vi_type} tiếp cận trong {t} phút đường bộ."
    return vi, en


def covering_tables(  # noqa: PLR0913 (keyword-only options of the covering step)
    tt: TravelTimes | Callable[[float], Reduced],
    demand: np.ndarray,
    fac: pd.DataFrame,
    tc: TypeConfig,
    *,
    base: np.ndarray,
    breaks_min: tuple[float, ...] | None = None,
    region_vi: str = "",
    region_en: str = "",
    shares: tuple[float, ...] = (0.9, 0.95, 0.99),
    max_work: int = EXACT_WORK,
    exact_shares: tuple[float, ...] | None = None,
    time_limit_s: float = 60.0,
) -> dict[str, pd.DataFrame]:
    """Minimal cover and coverage curve of one type, as output tables.

    Parameters
    ----------
    tt
        Travel times of the type (facility x cell), or a function of a threshold (seconds)
        that gives the covering input with ``base`` as candidates (the run's: from the cells'
        merged facility sets, ``analysis.block_sets.covering_input``).
    demand
        People per cell.
    fac
        The type's facilities, row i = facility i of ``tt`` (``facility_id`` column).
    tc
        The type's configuration (labels, breaks, primary break).
    base
        Facilities that exist (operating with road access): the only candidates, and the only
        ones whose reach must be kept. Planned facilities are never in the cover.
    breaks_min
        Breaks to solve (default: the primary break only).
    region_vi, region_en
        Region name for the sentences.
    shares
        Curve shares to report the first p of (``p_90``, ``p_95``, ``p_99``); ``p_90_proved``
        etc. say whether no smaller p can reach the share (else the p is achievable, and the
        smallest possible lies between the first p whose ``upper_bound`` reaches it and ``p_90``).
    max_work
        Exact-solve work the curve may spend on the p the greedy bound leaves open (per break;
        see :func:`coverage_curve`).
    exact_shares
        Shares whose first p is made exact (default: ``shares``; ``()`` leaves them to the
        greedy bound and the work budget, with ``p_90_proved`` etc. saying what was proved).
    time_limit_s
        HiGHS limit per solve.

    Returns
    -------
    dict of str to DataFrame
        ``covering`` (one row per break), ``coverage_curve`` (one row per break and p) and
        ``cover_members`` (one row per break and facility: ``in_minimal_cover``).
    """
    ids = fac["facility_id"].astype(str).to_numpy()
    base = np.asarray(base, bool)
    n = int(base.sum())
    summary, curves, members = [], [], []
    for b in breaks_min or (tc.primary_min,):  # a loop over breaks
        within = tt.within(b * 60.0) if isinstance(tt, TravelTimes) else tt(b * 60.0)
        t0 = time.perf_counter()
        cover = minimal_cover(within, demand, candidates=base, time_limit_s=time_limit_s)
        t1 = time.perf_counter()
        curve = coverage_curve(
            within,
            demand,
            candidates=base,
            cover=cover.chosen,
            max_work=max_work,
            shares=shares if exact_shares is None else exact_shares,
            time_limit_s=time_limit_s,
        )
        t2 = time.perf_counter()
        log.info(
            "%s %g min: minimal cover %d of %d (%.2f s), curve %d points (%.2f s)",
            tc.name,
            b,
            cover.n_chosen,
            n,
            t1 - t0,
            len(curve),
            t2 - t1,
        )
        row = _summary_row(tc, b, ids, n, cover, curve, shares, (region_vi, region_en))
        summary.append(row)
        chosen_ids = [
            "|".join(ids[np.array(c.split("|"), dtype=np.int64)]) if c else ""
            for c in curve["chosen"]
        ]
        curves.append(
            curve.drop(columns="chosen").assign(type=tc.name, break_min=b, facility_ids=chosen_ids)
        )
        inside = np.zeros(len(ids), bool)
        inside[cover.chosen] = True
        members.append(
            pd.DataFrame(
                {"type": tc.name, "break_min": b, "facility_id": ids, "in_minimal_cover": inside}
            )
        )
    cols = ["type", "break_min", "p", "covered", "share", "facility_ids", "optimal", "upper_bound"]
    return {
        "covering": pd.DataFrame(summary),
        "coverage_curve": pd.concat(curves, ignore_index=True)[cols],
        "cover_members": pd.concat(members, ignore_index=True),
    }


def _summary_row(
    tc: TypeConfig,
    b: float,
    ids: np.ndarray,
    n: int,
    cover: CoverResult,
    curve: pd.DataFrame,
    shares: tuple[float, ...],
    region: tuple[str, str],
) -> dict[str, object]:
    """One row of the ``covering`` table: the cover, the first p of each share, the sentences."""
    region_vi, region_en = region
    row: dict[str, object] = {
        "type": tc.name,
        "break_min": b,
        "n_facilities": n,
        "covered_people": cover.covered_people,
        "min_cover_size": cover.n_chosen,
        "min_cover_ids": "|".join(ids[cover.chosen]),
        "optimal": cover.optimal,
        "mip_gap": cover.mip_gap,
        "curve_points": len(curve),
        "curve_points_proved": int(curve["optimal"].sum()),
    }  # solve times are logged, not stored: identical runs give identical tables
    for s in shares:
        hit = curve.loc[curve["share"] >= s - 1e-12, "p"]
        p_s = int(hit.min()) if len(hit) else cover.n_chosen
        row[f"p_{round(100 * s)}"] = p_s
        # proved when no smaller p could reach the share even at its upper bound
        can = curve.loc[curve["upper_bound"] >= s * cover.covered_people * (1 - 1e-12), "p"]
        row[f"p_{round(100 * s)}_proved"] = bool(
            cover.optimal and (int(can.min()) if len(can) else p_s) >= p_s
        )
    say = functools.partial(
        cover_sentence,
        n=n,
        label_vi=tc.label_vi,
        label_en=tc.label_en,
        threshold_min=b,
        region_vi=region_vi,
        region_en=region_en,
    )
    vi, en = say(p=cover.n_chosen, share=1.0)
    row["cover_sentence_vi"], row["cover_sentence_en"] = vi, en
    knee = curve[curve["share"] >= 0.95 - 1e-12].head(1)
    if len(knee) and int(knee["p"].iloc[0]) < cover.n_chosen:
        vi, en = say(p=int(knee["p"].iloc[0]), share=float(knee["share"].iloc[0]))
    row["curve_sentence_vi"], row["curve_sentence_en"] = vi, en
    return row
