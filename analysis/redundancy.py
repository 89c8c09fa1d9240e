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

from analysis.text import fmt_min, fmt_pct, fmt_people


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
    gone = served & ~keeps
    lost = np.bincount(f1[gone], weights=demand[gone], minlength=n_fac)
    # the cells kept by the second nearest only, without a per-cell array of the grid's size
    # per term (at 100 m each is 213 MB): the same products, in the same (cell) order
    ks = np.flatnonzero(keeps)
    del served, keeps, gone
    fk, dk = f1[ks], demand[ks]
    dx = dk * (t2[ks] - t1[ks])
    increase = np.bincount(fk, weights=dx, minlength=n_fac)
    keep_people = coverage - lost
    penalty = (
        np.divide(increase, keep_people, out=np.full(n_fac, np.nan), where=keep_people > 0) / 60.0
    )
    alt_index = np.full(n_fac, -1, np.int64)
    alt_extra = np.full(n_fac, np.nan)
    alt_people = np.zeros(n_fac)
    if ks.size:
        df = pd.DataFrame({"i": fk, "j": f2[ks], "d": dk, "dx": dx}, copy=False)
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
    return sharing_frame(m.row.astype(np.int64), m.col.astype(np.int64), m.data)


def sharing_frame(i: np.ndarray, prov: np.ndarray, people: np.ndarray) -> pd.DataFrame:
    """The sharing keys from each (facility ``i``, province ``prov``) pair's ``people``: the
    rows with people > 0, each facility's total taken in the rows' order (pandas' group sum is
    compensated, so the order of a facility's rows may change its last bit), then sorted."""
    df = pd.DataFrame({"i": i, "prov": prov, "people": people})
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


@dataclass(frozen=True)
class SetEvidence:
    """What the type's verdict set as a whole would cost if removed together."""

    n: int
    loss_share: float
    lost_people: float
    moved_people: float
    extra_min: float
    max_loss_share: float


# What the model does not know, said where it matters (by facility type of the schema).
CAVEATS = {
    "seaport": (
        "Mô hình chưa tính công suất, chuyên môn hóa (container, hàng rời) và luồng hàng của cảng.",
        "The model does not know the port's capacity, specialisation (container, bulk) or freight flows.",
    ),
    "airport": (
        "Mô hình chưa tính công suất nhà ga và mạng đường bay.",
        "The model does not know terminal capacity or route networks.",
    ),
    "industrial_park": (
        "Mô hình chưa tính tỷ lệ lấp đầy và ngành nghề của khu công nghiệp.",
        "The model does not know the park's occupancy or its industries.",
    ),
}


def capacity_sentences(
    *,
    throughput: float,
    unit_vi: str,
    unit_en: str,
    year: float,
    design: float,
    largest: bool,
) -> tuple[str, str]:
    """What the capacity data say about an overlap: over capacity, or the throughput handled
    (and whether it is the largest of its type). Empty strings when the throughput is unknown.
    """
    if not np.isfinite(throughput):
        return "", ""
    yr = f" ({int(year)})" if np.isfinite(year) else ""
    if np.isfinite(design) and design > 0 and throughput > design:
        ratio = throughput / design
        return (
            f"Cơ sở này phục vụ {fmt_people(throughput, 'vi')} {unit_vi}{yr}, vượt công suất thiết kế "
            f"{fmt_people(design, 'vi')} ({fmt_pct(ratio, 'vi')}): đã quá tải thì trùng vùng phục vụ "
            "không có nghĩa là dư thừa.",
            f"It handled {fmt_people(throughput)} {unit_en}{yr}, over its design capacity of "
            f"{fmt_people(design)} ({fmt_pct(ratio)}): running over capacity, an overlap of "
            "catchments is not a redundancy.",
        )
    top_vi = ", lớn nhất trong loại theo số liệu" if largest else ""
    top_en = ", the largest of its type in the data" if largest else ""
    return (
        f"Cơ sở này thông qua {fmt_people(throughput, 'vi')} {unit_vi}{yr}{top_vi}: trùng vùng "
        "phục vụ không nói gì về công suất còn dư.",
        f"It handled {fmt_people(throughput)} {unit_en}{yr}{top_en}: an overlap of catchments "
        "says nothing about spare capacity.",
    )


_WHY_NOT = {
    "loss_bound": (
        "Không được kết luận là dư thừa: bỏ cơ sở này cùng các {type_vi} đã được kết luận là dư thừa sẽ làm mất quá {bound} nhu cầu đang được phục vụ.",
        "Not judged redundant: removing it together with the {type_en}s judged redundant would lose more than {bound} of the demand served today.",
    ),
    "overlap_gone": (
        "Không được kết luận là dư thừa: các {type_vi} ở tỉnh khác trùng vùng phục vụ với cơ sở này đã được kết luận là dư thừa trước, nên những người cơ sở này phục vụ không còn được nơi khác phục vụ.",
        "Not judged redundant: the {type_en}s of other provinces that overlap it were judged redundant first, so its people would no longer be served elsewhere.",
    ),
    "over_capacity": (
        "Không được kết luận là dư thừa: cơ sở đang hoạt động vượt công suất thiết kế.",
        "Not judged redundant: it runs over its design capacity.",
    ),
    "exempt_class": (
        "Không xét dư thừa: thuộc hạng mà cấu hình vùng miễn xét (ví dụ cảng biển loại đặc biệt, cửa ngõ quốc gia phục vụ cả nước, không chỉ vùng lân cận).",
        "Not judged: its class is exempt in the region config (e.g. a special-class seaport, a national gateway whose hinterland is the whole country, not a catchment).",
    ),
    "last_in_province": (
        "Không được kết luận là dư thừa: đây là cơ sở cuối cùng cùng loại còn lại của tỉnh.",
        "Not judged redundant: it is the last facility of its type left in its province.",
    ),
    "last_of_group": (
        "Không được kết luận là dư thừa: đây là cơ sở cuối cùng còn lại trong một nhóm {type_vi} gần như trùng vùng phục vụ.",
        "Not judged redundant: it is the last one kept of a group of {type_en}s with nearly the same catchment.",
    ),
}


def evidence_sentences(  # noqa: PLR0913 (one keyword per measure the sentence quotes)
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
    verdict: bool = False,
    reason: str = "",
    set_evidence: SetEvidence | None = None,
    caveat: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """The evidence of an overlap or a verdict in Vietnamese and English, ready for a memo.

    ``partners``: (name, province, overlap people) of the facilities in other provinces that
    overlap most; ``alt``: (name, province, extra minutes) of the best alternative. The people
    who would lose access and the extra minutes of the others are always given together.
    ``verdict`` words the facility as redundant (the joint verdict, with ``set_evidence``);
    otherwise only the overlap is stated, with ``reason`` saying why it is not judged redundant.
    ``caveat``: (vi, en) of what the model does not know for this type.
    """
    t = f"{threshold_min:g}"
    tl_en, tl_vi = type_en.lower(), type_vi.lower()
    article = "an" if tl_en[:1] in "aeiou" else "a"
    p_en = "; ".join(f"{n} ({p}, {fmt_people(o)} people in common)" for n, p, o in partners[:3])
    p_vi = "; ".join(
        f"{n} ({p}, {fmt_people(o, 'vi')} người cùng được phục vụ)" for n, p, o in partners[:3]
    )
    u_share = unique / coverage if coverage > 0 else 0.0
    if planned:  # a what-if: what it would add, not what its removal would cost
        en = (
            f"{name} ({prov_name}, planned) would reach {fmt_people(coverage)} people within {t} min by road; "
            f"{fmt_pct(other_share, 'en')} of them are already within {t} min of {article} {tl_en} in another province"
            + (f": {p_en}" if p_en else "")
            + f". It would newly serve {fmt_people(unique)} people ({fmt_pct(u_share, 'en')}) that no existing {tl_en} reaches."
        )
        vi = (
            f"{name} ({prov_name}, quy hoạch) sẽ phục vụ {fmt_people(coverage, 'vi')} người trong {t} phút đường bộ; "
            f"{fmt_pct(other_share, 'vi')} trong số đó đã nằm trong {t} phút của một {tl_vi} ở tỉnh khác"
            + (f": {p_vi}" if p_vi else "")
            + f". Cơ sở này chỉ phục vụ thêm {fmt_people(unique, 'vi')} người ({fmt_pct(u_share, 'vi')}) mà chưa {tl_vi} hiện có nào tiếp cận."
        )
        return vi, en
    head_en = "Redundant" if verdict else "Overlap"
    head_vi = "Dư thừa" if verdict else "Trùng lặp"
    en = (
        f"{head_en}: {name} ({prov_name}) reaches {fmt_people(coverage)} people within {t} min by road; "
        f"{fmt_pct(other_share, 'en')} of them are also within {t} min of {article} {tl_en} in another province"
        + (f": {p_en}" if p_en else "")
        + (
            ". Nobody is served by it alone. "
            if unique <= 0
            else f". Only {fmt_people(unique)} people ({fmt_pct(u_share, 'en')}) are served by no other {tl_en}. "
        )
    )
    vi = (
        f"{head_vi}: {name} ({prov_name}) phục vụ {fmt_people(coverage, 'vi')} người trong {t} phút đường bộ; "
        f"{fmt_pct(other_share, 'vi')} trong số đó cũng nằm trong {t} phút của một {tl_vi} ở tỉnh khác"
        + (f": {p_vi}" if p_vi else "")
        + (
            ". Không ai chỉ được cơ sở này phục vụ. "
            if unique <= 0
            else f". Chỉ {fmt_people(unique, 'vi')} người ({fmt_pct(u_share, 'vi')}) không được {tl_vi} nào khác phục vụ. "
        )
    )
    keep = max(coverage - lost, 0.0)
    pen = penalty_min if np.isfinite(penalty_min) else 0.0
    en += (
        f"Without it alone, {fmt_people(lost)} people would lose access within {t} min "
        f"and the {fmt_people(keep)} who keep it would travel {fmt_min(pen, 'en')} min longer on average"
    )
    vi += (
        f"Nếu chỉ bỏ riêng cơ sở này, {fmt_people(lost, 'vi')} người sẽ mất tiếp cận trong {t} phút "
        f"và {fmt_people(keep, 'vi')} người còn tiếp cận sẽ đi thêm trung bình {fmt_min(pen, 'vi')} phút"
    )
    if alt is not None:
        en += f" (best alternative: {alt[0]}, {alt[1]}, +{fmt_min(alt[2], 'en')} min)."
        vi += f" (phương án thay thế tốt nhất: {alt[0]}, {alt[1]}, +{fmt_min(alt[2], 'vi')} phút)."
    else:
        en += "."
        vi += "."
    if verdict and set_evidence is not None and set_evidence.n == 1:
        se = set_evidence  # the set is this facility: say what its own removal costs, once
        en += (
            f" It is the only {tl_en} judged redundant: removing it would cost "
            f"{fmt_pct(se.loss_share, 'en')} of the demand served today "
            f"(bound {fmt_pct(se.max_loss_share, 'en')}), and the {fmt_people(se.moved_people)} people "
            f"whose nearest {tl_en} it is would travel {fmt_min(se.extra_min, 'en')} min longer on average."
        )
        vi += (
            f" Đây là {tl_vi} duy nhất được kết luận là dư thừa: bỏ cơ sở này làm mất "
            f"{fmt_pct(se.loss_share, 'vi')} nhu cầu đang được phục vụ "
            f"(giới hạn {fmt_pct(se.max_loss_share, 'vi')}), và {fmt_people(se.moved_people, 'vi')} người "
            f"có {tl_vi} gần nhất là cơ sở này sẽ đi thêm trung bình {fmt_min(se.extra_min, 'vi')} phút."
        )
    elif verdict and set_evidence is not None:
        se = set_evidence
        en += (
            f" Removed together with the other {se.n - 1} {tl_en}(s) judged redundant, "
            f"the set would cost {fmt_pct(se.loss_share, 'en')} of the demand served today "
            f"(bound {fmt_pct(se.max_loss_share, 'en')}): {fmt_people(se.lost_people)} people lose access "
            f"and {fmt_people(se.moved_people)} travel {fmt_min(se.extra_min, 'en')} min longer on average."
        )
        vi += (
            f" Nếu bỏ cùng {se.n - 1} {tl_vi} khác được kết luận là dư thừa, "
            f"cả nhóm làm mất {fmt_pct(se.loss_share, 'vi')} nhu cầu đang được phục vụ "
            f"(giới hạn {fmt_pct(se.max_loss_share, 'vi')}): {fmt_people(se.lost_people, 'vi')} người mất tiếp cận "
            f"và {fmt_people(se.moved_people, 'vi')} người đi thêm trung bình {fmt_min(se.extra_min, 'vi')} phút."
        )
    elif not verdict and reason in _WHY_NOT:
        bound = set_evidence.max_loss_share if set_evidence else 0.02
        why_vi, why_en = _WHY_NOT[reason]
        vi += " " + why_vi.format(type_vi=tl_vi, bound=fmt_pct(bound, "vi"))
        en += " " + why_en.format(type_en=tl_en, bound=fmt_pct(bound, "en"))
    if caveat is not None:
        vi += " " + caveat[0]
        en += " " + caveat[1]
    return vi, en
