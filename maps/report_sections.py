"""The memo parts of report.html: summary, what the numbers stand on, findings, per province.

Plain functions from a RunResult to lists of dicts of display strings (numbers formatted by
``analysis.text`` in the report's language); the template escapes every string.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.results import RunMeta, RunResult
from analysis.text import fmt_dec, fmt_int, fmt_min, fmt_pct, fmt_people, term


def type_label(meta: RunMeta, t: str, lang: str) -> str:
    tm = meta.types.get(t, {})
    return str(tm.get("label_vi" if lang == "vi" else "label_en", t))


def _primary(meta: RunMeta) -> dict[str, float]:
    return {t: tm["primary_min"] for t, tm in meta.types.items()}


def finding_order(fac: pd.DataFrame) -> pd.DataFrame:
    """``fac`` in the map's findings order (``maps.html_findings``): the verdict first, then by
    severity rounded as the map shows it (4 decimals), the verdict rank, the name, the id."""
    v = fac["verdict"].astype(bool)
    nan = pd.Series(np.nan, index=fac.index)
    sev = pd.to_numeric(fac.get("severity", nan), errors="coerce").round(4)
    rank = pd.to_numeric(fac.get("verdict_rank", nan), errors="coerce").where(v)
    key = pd.DataFrame(
        {
            "o": (~v).astype(int),
            "s": (-sev).fillna(np.inf),
            "r": rank.fillna(np.inf),
            "n": fac["name"].astype(str),
            "i": fac["facility_id"].astype(str),
        },
        index=fac.index,
    )
    return fac.loc[key.sort_values(["o", "s", "r", "n", "i"], kind="stable").index]


def findings(result: RunResult, lang: str) -> list[dict[str, Any]]:
    """The verdict's facilities, most severe first, then those with only the overlap flag."""
    fac, meta = result.layers["facilities"], result.meta
    ed = meta.edition
    sel = fac[fac["verdict"].astype(bool) | fac["overlap_flag"].astype(bool)].copy()
    sel = finding_order(sel)
    return [
        {
            "rank": i + 1,
            "name": r["name"],
            "type": type_label(meta, r["type"], lang),
            "prov": r[f"prov{ed}_name"],
            "verdict": bool(r["verdict"]),
            "severity": fmt_dec(r["severity"], lang, digits=2),
            "unique": fmt_pct(r["unique_share"], lang),
            "other": fmt_pct(r["other_province_share"], lang),
            "lost": fmt_people(r["removal_lost"], lang),
            "extra": fmt_min(r["removal_penalty_min"], lang),
            "robust": term(str(r["flag_robustness"]), lang, default=""),
            "evidence": r["evidence_vi"] if lang == "vi" else r["evidence_en"],
        }
        for i, (_, r) in enumerate(sel.iterrows())
    ]


def _type_sentence(result: RunResult, t: str, lang: str) -> str:
    meta, fac = result.meta, result.layers["facilities"]
    ed = meta.edition
    f = fac[fac["type"] == t]
    v = meta.verdict.get(t, {})
    lab = type_label(meta, t, lang).lower()
    n, k, T = len(f), int(f["verdict"].sum()), f"{meta.types[t]['primary_min']:g}"
    n_ov = int(f["overlap_flag"].sum())
    if k == 0:
        if lang == "vi":
            return (
                f"Không {lab} nào trong {n} cơ sở được kết luận là dư thừa ở ngưỡng {T} phút; "
                f"{n_ov} cơ sở trùng lặp với {lab} của tỉnh khác."
            )
        return (
            f"None of the {n} {lab}s is judged redundant at {T} min; "
            f"{n_ov} overlap with another province's {lab}."
        )
    top = finding_order(f[f["verdict"].astype(bool)])
    names = ", ".join(f"{r['name']} ({r[f'prov{ed}_name']})" for _, r in top.head(3).iterrows())
    loss, lost = fmt_pct(v.get("loss_share"), lang), fmt_people(v.get("lost_people"), lang)
    moved, extra = fmt_people(v.get("moved_people"), lang), fmt_min(v.get("extra_min"), lang)
    if lang == "vi":
        gone = "bỏ cơ sở này" if k == 1 else f"bỏ cả {k} cùng lúc"
        return (
            f"{k} trong {n} {lab} được kết luận là dư thừa ở ngưỡng {T} phút (cao nhất: {names}); "
            f"{gone} làm mất {loss} nhu cầu đang được phục vụ: {lost} người mất tiếp cận và "
            f"{moved} người đi thêm trung bình {extra} phút."
        )
    gone = "removed, it" if k == 1 else f"removed together, the {k}"
    return (
        f"{k} of the {n} {lab}s {'is' if k == 1 else 'are'} judged redundant at {T} min (most: "
        f"{names}); {gone} would cost {loss} of the demand served today: {lost} people lose "
        f"access and {moved} travel {extra} min longer on average."
    )


def summary(result: RunResult, lang: str) -> list[str]:
    """Three to five sentences a consultant can quote, from the run's own numbers."""
    meta = result.meta
    out = [_type_sentence(result, t, lang) for t in meta.types]
    prim = _primary(meta)
    pm = result.layers["province_matrix"]
    pm = pm[
        (pm["edition"] == meta.edition)
        & (pm["break_min"] == pm["type"].map(prim))
        & (pm["province_a"] < pm["province_b"])
    ]
    if len(pm) and pm["duplicated"].max() > 0:
        r = pm.sort_values(["duplicated", "province_a"], ascending=[False, True]).iloc[0]
        lab = type_label(meta, r["type"], lang).lower()
        people, T = fmt_people(r["duplicated"], lang), f"{prim[r['type']]:g}"
        out.append(
            f"Trùng lặp lớn nhất giữa hai tỉnh: {people} người nằm trong {T} phút của cả "
            f"{lab} của {r['name_a']} và {lab} của {r['name_b']}."
            if lang == "vi"
            else f"The largest duplication between two provinces: {people} people are within "
            f"{T} min of both {r['name_a']}'s and {r['name_b']}'s {lab}s."
        )
    return out


def _official_source(counts: pd.DataFrame, lang: str) -> str:
    """The official count's source; in Vietnamese its ``official_source_vi`` when configured."""
    if counts.empty:
        return ""
    vi = str(counts["official_source_vi"].iloc[0] or "") if "official_source_vi" in counts else ""
    return vi if lang == "vi" and vi else str(counts["official_source"].iloc[0])


def standing(result: RunResult, lang: str) -> list[dict[str, str]]:
    """Per type: loaded vs official, facilities and people on the main network, assumed statuses."""
    meta, fac = result.meta, result.layers["facilities"]
    counts = result.tables.get("facility_counts", pd.DataFrame())
    net = meta.network
    people_on = 1.0 - float(net.get("people_off_main_network_share", 0.0))
    rows = []
    for t in meta.types:
        f = fac[fac["type"] == t]
        c = counts[counts["type"] == t] if "type" in counts else pd.DataFrame()
        has_official = len(c) and pd.notna(c["official_count"].iloc[0])
        rows.append(
            {
                "type": type_label(meta, t, lang),
                "loaded": fmt_int(len(f), lang),
                "official": fmt_int(c["official_count"].iloc[0], lang) if has_official else "–",
                "official_source": _official_source(c, lang),
                "on_network": fmt_pct(
                    (f["road_access"] == "network").mean() if len(f) else 0, lang
                ),
                "people_on_network": fmt_pct(people_on, lang, digits=1),
                "assumed": fmt_int(
                    (f["status_source"] == "assumed").sum() if "status_source" in f else 0, lang
                ),
            }
        )
    return rows


def province_sections(result: RunResult, lang: str) -> list[dict[str, Any]]:
    """One section per province with a redundant or overlapping facility: what, with whom."""
    meta, fac = result.meta, result.layers["facilities"]
    ed = meta.edition
    prim = _primary(meta)
    ov = result.layers["overlaps"]
    ov = ov[ov["break_min"] == ov["type"].map(prim)]
    prov = result.layers["provinces"].set_index(result.layers["provinces"]["prov_code"].astype(str))
    name_of = dict(zip(fac["facility_id"], fac["name"], strict=True))
    pcode = dict(zip(fac["facility_id"], fac[f"prov{ed}_code"].astype(str), strict=True))
    pname = dict(zip(fac["facility_id"], fac[f"prov{ed}_name"].astype(str), strict=True))
    hot = fac[fac["verdict"].astype(bool) | fac["overlap_flag"].astype(bool)]
    out = []
    for code, g in hot.groupby(hot[f"prov{ed}_code"].astype(str), sort=True):
        items = []
        for _, r in g.sort_values(["type", "severity"], ascending=[True, False]).iterrows():
            fid = r["facility_id"]
            mine = ov[(ov["facility_a"] == fid) | (ov["facility_b"] == fid)]
            other = mine["facility_b"].where(mine["facility_a"] == fid, mine["facility_a"])
            part = pd.DataFrame({"j": other.to_numpy(), "people": mine["overlap"].to_numpy()})
            part = part[part["j"].map(pcode) != code].sort_values(
                ["people", "j"], ascending=[False, True]
            )
            items.append(
                {
                    "name": r["name"],
                    "type": type_label(meta, r["type"], lang),
                    "verdict": bool(r["verdict"]),
                    "partners": [
                        f"{name_of[j]} ({pname[j]}, {fmt_people(p, lang)})"
                        for j, p in zip(part["j"].head(3), part["people"].head(3), strict=True)
                    ],
                }
            )
        shares = [
            (
                type_label(meta, t, lang),
                fmt_pct(prov.at[code, f"covered_by_others_share_{t}"], lang),
            )
            for t in meta.types
            if code in prov.index and f"covered_by_others_share_{t}" in prov.columns
        ]
        out.append(
            {"name": str(g[f"prov{ed}_name"].iloc[0]), "facilities": items, "shares": shares}
        )
    return out


#: fewest facilities with throughput for a rank correlation to be quoted (at n = 4 a perfect
#: Spearman rho happens by chance once in 24 orders)
MIN_RANK_N = 8


def capacity_check(result: RunResult, lang: str) -> list[str]:
    """One sentence per type: how the modelled demand ranks facilities against their traffic."""
    out = []
    for t, c in result.meta.capacity_check.items():
        lab = type_label(result.meta, t, lang).lower()
        if c["n"] < MIN_RANK_N:  # 4 facilities: every order has a 1-in-24 chance; say so instead
            out.append(
                f"{lab.capitalize()}: chỉ {c['n']} cơ sở có số liệu lượng thông qua thực tế, quá ít "
                "để so sánh hạng với nhu cầu mô hình."
                if lang == "vi"
                else f"{lab.capitalize()}s: only {c['n']} have real throughput data, too few to "
                "compare their ranks with the modelled demand."
            )
            continue
        rd = fmt_dec(c.get("rho_demand"), lang, digits=2)
        rc = fmt_dec(c.get("rho_coverage"), lang, digits=2)
        out.append(
            f"{lab.capitalize()}: tương quan hạng (Spearman) giữa nhu cầu mô hình và lượng thông qua "
            f"thực tế của {c['n']} cơ sở có số liệu: {rd} (số dân trong vùng phục vụ: {rc})."
            if lang == "vi"
            else f"{lab.capitalize()}s: rank correlation (Spearman) of the modelled demand with the "
            f"real throughput of the {c['n']} with data: {rd} (people within reach: {rc})."
        )
    return out
