"""Removal penalty, best alternative, benefit-sharing keys, the redundancy flag and its evidence.

- removal penalty(i): demand-weighted mean increase of travel time (minutes) to the nearest
  same-type facility if i were absent, over the people in C_i who keep access within T
  (people for whom i is not the nearest facility count with an increase of 0);
  ``removal_lost``: people whose only facility within T is i.
  Computed for all facilities at once from the nearest and second-nearest facility of every
  cell (one pass over the network), not one shortest-path run per removed facility.
- best alternative(i): the facility that is second-nearest for most of the people for whom i is
  the nearest, with their demand-weighted extra time.
- sharing key: each province's share of coverage(i).
- flag: unique share < max_unique_share and other_province_share >= min_other_province_share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class Removal:
    penalty_min: np.ndarray
    lost: np.ndarray
    alt_index: np.ndarray
    alt_extra_min: np.ndarray
    alt_people: np.ndarray


def removal_penalty(
    f1: np.ndarray,
    t1: np.ndarray,
    f2: np.ndarray,
    t2: np.ndarray,
    demand: np.ndarray,
    coverage: np.ndarray,
    *,
    threshold_s: float,
) -> Removal:
    """Removal penalty and best alternative of every facility at threshold ``threshold_s``.

    Parameters
    ----------
    f1, t1, f2, t2
        Nearest and second-nearest facility of each cell and their times in seconds
        (``analysis.catchments.nearest_two``).
    demand
        People per cell.
    coverage
        coverage(i) at the same threshold.
    """
    n_fac = coverage.size
    served = (f1 >= 0) & (t1 <= threshold_s)
    keeps = served & (t2 <= threshold_s)
    lost = np.bincount(f1[served & ~keeps], weights=demand[served & ~keeps], minlength=n_fac)
    extra_s = np.zeros(t1.size)
    extra_s[keeps] = t2[keeps] - t1[keeps]
    increase = np.bincount(f1[keeps], weights=(demand * extra_s)[keeps], minlength=n_fac)
    keep_people = coverage - lost
    penalty = (
        np.divide(increase, keep_people, out=np.full(n_fac, np.nan), where=keep_people > 0) / 60.0
    )
    alt_index = np.full(n_fac, -1, np.int64)
    alt_extra = np.full(n_fac, np.nan)
    alt_people = np.zeros(n_fac)
    if keeps.any():
        df = pd.DataFrame(
            {"i": f1[keeps], "j": f2[keeps], "d": demand[keeps], "dx": (demand * extra_s)[keeps]}
        )
        g = df.groupby(["i", "j"], sort=True).sum().reset_index()
        g = g.sort_values(
            ["i", "d", "j"], ascending=[True, False, True], kind="stable"
        ).drop_duplicates("i")
        ii = g["i"].to_numpy()
        alt_index[ii] = g["j"].to_numpy()
        alt_people[ii] = g["d"].to_numpy()
        alt_extra[ii] = (
            np.divide(
                g["dx"].to_numpy(),
                g["d"].to_numpy(),
                out=np.zeros(len(g)),
                where=g["d"].to_numpy() > 0,
            )
            / 60.0
        )
    return Removal(
        penalty_min=penalty,
        lost=lost,
        alt_index=alt_index,
        alt_extra_min=alt_extra,
        alt_people=alt_people,
    )


def sharing_keys(
    within: sp.csr_matrix, demand: np.ndarray, cell_prov: np.ndarray, n_prov: int
) -> pd.DataFrame:
    """Each province's people and share of every facility's coverage (long form).

    Returns columns ``i``, ``prov``, ``people``, ``share``; rows with people > 0, sorted by
    facility then share descending.
    """
    ok = cell_prov >= 0
    onehot = sp.csr_matrix(
        (demand[ok], (np.flatnonzero(ok), cell_prov[ok])), shape=(cell_prov.size, n_prov)
    )
    m = (within.astype(np.float64) @ onehot).tocoo()
    df = pd.DataFrame(
        {"i": m.row.astype(np.int64), "prov": m.col.astype(np.int64), "people": m.data}
    )
    df = df[df["people"] > 0]
    total = df.groupby("i")["people"].transform("sum")
    df = df.assign(share=df["people"] / total)
    return df.sort_values(
        ["i", "share", "prov"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def redundancy_flags(
    coverage: np.ndarray,
    unique: np.ndarray,
    other_province: np.ndarray,
    *,
    max_unique_share: float,
    min_other_province_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique share, other-province share and the flag of every facility (no coverage: no flag)."""
    has = coverage > 0
    u_share = np.divide(unique, coverage, out=np.zeros_like(coverage), where=has)
    o_share = np.divide(other_province, coverage, out=np.zeros_like(coverage), where=has)
    flag = has & (u_share < max_unique_share) & (o_share >= min_other_province_share)
    return u_share, o_share, flag


def fmt_people(x: float, lang: str = "en") -> str:
    """People as planners quote them: 1.2 million / 350,000 (vi: 1,2 triệu / 350.000)."""
    if not np.isfinite(x):
        return "–"
    if x >= 1e6:
        s = f"{x / 1e6:.1f}"
        return f"{s.replace('.', ',')} triệu" if lang == "vi" else f"{s} million"
    s = f"{round(x, -2):,.0f}" if x >= 1000 else f"{x:,.0f}"
    return s.replace(",", ".") if lang == "vi" else s


def evidence_sentences(
    *,
    name: str,
    prov_name: str,
    type_vi: str,
    type_en: str,
    threshold_min: float,
    coverage: float,
    unique: float,
    other_share: float,
    partners: list[tuple[str, str, float]],
    lost: float,
    penalty_min: float,
    alt: tuple[str, str, float] | None,
    planned: bool = False,
) -> tuple[str, str]:
    """The evidence of a flag in Vietnamese and English, ready to paste into a memo.

    ``partners``: (name, province, overlap people) of the facilities in other provinces that
    overlap most; ``alt``: (name, province, extra minutes) of the best alternative.
    """
    t = f"{threshold_min:g}"
    article = "an" if type_en[:1].lower() in "aeiou" else "a"
    alone_en = "Nobody is served by it alone" if unique <= 0 else ""
    alone_vi = "Không ai chỉ được nó phục vụ" if unique <= 0 else ""
    pct_o = f"{100 * other_share:.0f}%"
    pct_u = f"{100 * unique / coverage:.0f}%" if coverage > 0 else "0%"
    p_en = "; ".join(f"{n} ({p}, {fmt_people(o)} people in common)" for n, p, o in partners[:3])
    p_vi = "; ".join(f"{n} ({p}, {fmt_people(o, 'vi')} người chung)" for n, p, o in partners[:3])
    en = (
        f"{name} ({prov_name}) reaches {fmt_people(coverage)} people within {t} min by road; "
        f"{pct_o} of them are also within {t} min of {article} {type_en.lower()} in another province"
        + (f": {p_en}" if p_en else "")
        + (
            f". {alone_en}. "
            if alone_en
            else f". Only {fmt_people(unique)} people ({pct_u}) are served by no other {type_en.lower()}. "
        )
    )
    vi = (
        f"{name} ({prov_name}) phục vụ {fmt_people(coverage, 'vi')} người trong {t} phút đường bộ; "
        f"{pct_o} trong số đó cũng nằm trong {t} phút của một {type_vi.lower()} ở tỉnh khác"
        + (f": {p_vi}" if p_vi else "")
        + (
            f". {alone_vi}. "
            if alone_vi
            else f". Chỉ {fmt_people(unique, 'vi')} người ({pct_u}) không được {type_vi.lower()} nào khác phục vụ. "
        )
    )
    if planned:  # a what-if: what it would add, not what its removal would cost
        en = (
            f"{name} ({prov_name}, planned) would reach {fmt_people(coverage)} people within {t} min by road; "
            f"{pct_o} of them are already within {t} min of {article} {type_en.lower()} in another province"
            + (f": {p_en}" if p_en else "")
            + f". It would newly serve {fmt_people(unique)} people ({pct_u}) that no existing {type_en.lower()} reaches."
        )
        vi = (
            f"{name} ({prov_name}, quy hoạch) sẽ phục vụ {fmt_people(coverage, 'vi')} người trong {t} phút đường bộ; "
            f"{pct_o} trong số đó đã nằm trong {t} phút của một {type_vi.lower()} ở tỉnh khác"
            + (f": {p_vi}" if p_vi else "")
            + f". Nó chỉ phục vụ thêm {fmt_people(unique, 'vi')} người ({pct_u}) mà chưa {type_vi.lower()} hiện có nào tiếp cận."
        )
        return vi, en
    pen = (
        (f"{penalty_min:.1f}" if penalty_min < 10 else f"{penalty_min:.0f}")
        if np.isfinite(penalty_min)
        else "0"
    )
    en += f"Without it, {fmt_people(lost)} people would lose access within {t} min and the others would travel {pen} min longer on average"
    vi += f"Nếu không có nó, {fmt_people(lost, 'vi')} người sẽ mất tiếp cận trong {t} phút và những người còn lại đi thêm trung bình {pen.replace('.', ',')} phút"
    if alt is not None:
        extra = f"{alt[2]:.1f}" if alt[2] < 10 else f"{alt[2]:.0f}"
        en += f" (best alternative: {alt[0]}, {alt[1]}, +{extra} min)."
        vi += (
            f" (phương án thay thế tốt nhất: {alt[0]}, {alt[1]}, +{extra.replace('.', ',')} phút)."
        )
    else:
        en += "."
        vi += "."
    return vi, en
