"""The province-pairs panel of map.html: pairs of provinces ranked by the people both serve.

Names, not codes; each unordered pair once; a click outlines the two provinces (``data-a`` /
``data-b``, the page's highlight script in ``maps.html_assets``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from maps import html_panels as hp


def pairs_html(
    matrix: pd.DataFrame | None,
    types: Mapping[str, Any],
    types_present: Sequence[str],
    *,
    edition: Any,
    n_planned: Mapping[str, int] | None = None,
    top_n: int = 10,
) -> str:
    """Ranked province pairs by people served by facilities of both, one list per type.

    Each unordered pair once (the matrix holds both orders), at the type's primary break, named
    (not coded); a row carries the two province codes (``data-a``/``data-b``) for the page's
    outline script. The matrix counts operating facilities only: a footnote gives the planned
    facilities left out (``n_planned``).
    """
    need = {"type", "break_min", "province_a", "province_b", "duplicated"}
    blocks = []
    if matrix is not None and need <= set(matrix.columns):
        pm = matrix
        if "edition" in pm.columns:
            pm = pm[pm["edition"].astype(str) == str(edition)]
        pm = pm[(pm["province_a"] != pm["province_b"]) & (pm["duplicated"] > 0)]
        for t in types_present:
            primary = hp._num((types.get(t) or {}).get("primary_min"))
            sub = pm[(pm["type"] == t) & (pm["break_min"].astype(float) == primary)]
            if sub.empty:
                continue
            planned = int((n_planned or {}).get(t, 0))
            blocks.append(_pair_list(sub, types, t, primary, top_n, planned))
    body = (
        "".join(blocks)
        or f"<p>{hp.bi('Không có cặp tỉnh nào trùng lặp.', 'No duplicated province pairs.')}</p>"
    )
    hint = hp.bi(
        "Số người mà cơ sở đang hoạt động của cả hai tỉnh cùng phục vụ. Bấm vào một cặp để xem hai tỉnh.",
        "People served by operating facilities of both provinces. Click a pair to outline the two provinces.",
    )
    return (
        f"<details><summary>{hp.bi('Cặp tỉnh trùng lặp', 'Duplicated province pairs')}</summary>"
        f'<p class="io-small">{hint}</p>{body}</details>'
    )


def _pair_list(
    sub: pd.DataFrame, types: Mapping[str, Any], t: str, primary: float, top_n: int, planned: int
) -> str:
    names: dict[str, str] = {}
    for col, name_col in (("province_a", "name_a"), ("province_b", "name_b")):
        src = sub[name_col] if name_col in sub.columns else sub[col]
        names.update(zip(sub[col].astype(str), src.astype(str), strict=True))
    best: dict[tuple[str, str], float] = {}
    for a, b, v in sub[["province_a", "province_b", "duplicated"]].itertuples(index=False):
        key = (min(str(a), str(b)), max(str(a), str(b)))
        best[key] = max(best.get(key, 0.0), float(v))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], names.get(kv[0][0], ""), kv[0]))
    vmax = ranked[0][1]
    items = []
    for (a, b), v in ranked[:top_n]:
        width = max(2.0, 100.0 * v / vmax)
        items.append(
            f'<li class="io-cell" data-a="{hp.esc(a)}" data-b="{hp.esc(b)}" tabindex="0">'
            f'<span class="io-pn" dir="auto">{hp.esc(names.get(a, a))} – {hp.esc(names.get(b, b))}</span>'
            f'<span class="io-pv">{hp.people(v)}</span>'
            f'<span class="io-bar" style="width:{width:.0f}%"></span></li>'
        )
    more = len(ranked) - min(len(ranked), top_n)
    note = f" +{more} {hp.bi('cặp khác', 'more pairs')}." if more > 0 else ""
    if planned:
        note += " " + hp.bi(
            f"Chưa tính {planned} cơ sở quy hoạch.", f"{planned} planned facilities not counted."
        )
    note = f'<p class="io-small">{note.strip()}</p>' if note else ""
    return (
        f"<h2>{hp.type_label(types, t)} ≤ {hp.minutes(primary)}</h2><ol>{''.join(items)}</ol>{note}"
    )
