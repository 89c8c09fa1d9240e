"""Terms and coded values in Vietnamese and English, and how they are picked.

Terms follow the usage of Vietnamese planning documents: *cảng biển* (a seaport, under Decision
1579/QĐ-TTg), *bến cảng* (a terminal of a seaport), *cảng hàng không* (an airport), *khu công
nghiệp* (an industrial park), *thời gian tăng thêm* (extra travel time), *phục vụ chung* (served
by both), *dư thừa* (redundant, the verdict) against *trùng lặp* (overlap, descriptive), *TP. Hồ
Chí Minh* for the city. A facility is named or called *cơ sở này*, never *nó*. Coded values
(``operating``, ``seaport``, ``robust``) stay codes in the data and are translated here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.results import RunMeta

# key: (vi, en). Sentence-case; callers capitalise where a label starts a line.
TERMS: dict[str, tuple[str, str]] = {
    # statuses and their sources
    "operating": ("đang hoạt động", "operating"),
    "planned": ("quy hoạch", "planned"),
    "assumed": ("giả định", "assumed"),
    # road access of a facility
    "network": ("nối mạng đường bộ chính", "on the main road network"),
    "separate_network": ("mạng đường riêng (đảo)", "separate road network (island)"),
    "none": ("không có đường bộ", "no road access"),
    # robustness of a finding under the sensitivity check
    "robust": ("ổn định", "robust"),
    "fragile": ("phụ thuộc giả định", "fragile"),
    "robust_long": ("kết luận ổn định khi thay đổi giả định", "robust to the assumptions"),
    "fragile_long": ("kết luận thay đổi theo giả định", "sensitive to the assumptions"),
    # classes of facilities (like with like)
    "international": ("quốc tế", "international"),
    "domestic": ("nội địa", "domestic"),
    "special": ("đặc biệt", "special"),
    "general": ("tổng hợp", "general"),
    "regional": ("khu vực", "regional"),
    "local": ("địa phương", "local"),
    # findings
    "redundant": ("dư thừa", "redundant"),
    "overlap": ("trùng lặp", "overlap"),
    "overlap_only": ("chỉ trùng lặp", "overlap only"),
    "served_by_both": ("phục vụ chung", "served by both"),
    "extra_minutes": ("thời gian tăng thêm", "extra travel time"),
    "lose_access": ("mất tiếp cận", "lose access"),
    "doubtful": ("dữ liệu cần kiểm tra", "doubtful data"),
    "member": ("bến cảng thành viên", "member site"),
    "left_out": ("bị loại (xem lý do)", "left out (see reason)"),
    "other": ("khác", "other"),
    "province": ("tỉnh, thành phố", "province"),
    "people": ("người", "people"),
    "minutes": ("phút", "min"),
    "count": ("số lượng", "count"),
}

# provinces whose boundary-data name is not how a document names them (display only: the joined
# name, the code and every key stay as loaded). "Hồ Chí Minh" alone names the person.
PROVINCE_DISPLAY = {
    "Hồ Chí Minh": ("TP. Hồ Chí Minh", "Hồ Chí Minh City"),
}

# province assignment rules (prov_method); manual overrides share one label
PROV_METHOD = {
    "point_in_polygon": ("nằm trong ranh giới tỉnh", "inside the province polygon"),
    "official_list": ("theo danh sách chính thức", "from the official list"),
    "nearest_within": ("theo tỉnh gần nhất (ngoài mọi ranh giới)", "nearest province"),
    "manual_override": ("hiệu chỉnh thủ công", "manual override"),
}

# QGIS project groups and raster layers
GROUP_TEXT = {
    "provinces": ("Tỉnh, thành phố", "Provinces"),
    "rasters": ("Lưới (raster)", "Rasters"),
    "tables": ("Bảng", "Tables"),
}
RASTER_TEXT = {  # name prefix: (vi, en)
    "coverage_count_": (
        "Số cơ sở phục vụ trong ngưỡng chính",
        "Facilities within the primary break",
    ),
    "travel_time_": ("Thời gian tới cơ sở gần nhất (phút)", "Travel time to the nearest (min)"),
}

# population sources (meta.demand_source_id) described for Vietnamese readers
DEMAND_SOURCES = {
    "communes_census2019_scaled_nso2024": (
        "dân số Tổng điều tra 2019 theo xã, phường (ranh giới 2025), hiệu chỉnh theo tổng dân số "
        "từng tỉnh năm 2024 của Cục Thống kê, phân bố đều trong mỗi xã"
    ),
    "communes_dasymetric_nso2024": (
        "tổng dân số từng tỉnh năm 2024 của Cục Thống kê, chia thành thị/nông thôn theo tỷ lệ "
        "Tổng điều tra 2019 và phân bố đều theo diện tích trong phường và trong xã (ranh giới 2025)"
    ),
    "districts_census2019_scaled_nso2024": (
        "dân số Tổng điều tra 2019 theo quận, huyện, hiệu chỉnh theo tổng dân số từng tỉnh năm "
        "2024 của Cục Thống kê"
    ),
}


def pick(pair: tuple[str, str], lang: str) -> str:
    """The ``lang`` side of a ``(vi, en)`` pair (English for any language but ``"vi"``)."""
    return pair[0] if lang == "vi" else pair[1]


def term(key: Any, lang: str, *, default: str | None = None) -> str:
    """The label of a term or coded value in ``lang``; unknown keys give ``default`` or the key."""
    pair = TERMS.get(str(key))
    if pair is None:
        return str(key) if default is None else default
    return pick(pair, lang)


def class_label(value: Any, lang: str) -> str:
    """A facility class for display: ``international`` → *quốc tế*, ``II`` → *loại II*.

    Roman-numeral classes are the seaport classes of Decision 1579/QĐ-TTg (*cảng biển loại I*).
    Missing values give an empty string; other values are shown as they are (a proper name).
    """
    if value is None or (isinstance(value, float) and value != value) or str(value) == "":
        return ""
    v = str(value).strip()
    if re.fullmatch(r"[IVX]+", v):
        return f"loại {v}" if lang == "vi" else f"class {v}"
    return term(v.lower(), lang, default=v)


def province_name(name: Any, lang: str = "vi") -> str:
    """A province's name as documents write it: *Hồ Chí Minh* → *TP. Hồ Chí Minh* (vi)."""
    text = "" if name is None or (isinstance(name, float) and name != name) else str(name)
    pair = PROVINCE_DISPLAY.get(text.strip())
    return pick(pair, lang) if pair else text


_PROVINCE_IN_TEXT = {
    k: re.compile(rf"(?<!TP\. )(?<!Thành phố )(?<![\w.]){re.escape(k)}(?! City)(?!\w)")
    for k in PROVINCE_DISPLAY
}


def province_names_in_text(text: Any, lang: str = "vi", *, keep: Iterable[str] = ()) -> Any:
    """``text`` with each bare province name of :data:`PROVINCE_DISPLAY` in its display form
    (a sentence that names the province); the names in ``keep`` (facility names, which are
    the source's own: *Cảng biển Hồ Chí Minh*) are left as they are. Non-strings are returned
    as they are."""
    if not isinstance(text, str):
        return text
    held = [n for n in sorted(set(keep), key=len, reverse=True) if n and n in text]
    for i, n in enumerate(held):
        text = text.replace(n, f"\x00{i}\x00")
    for k, pattern in _PROVINCE_IN_TEXT.items():
        text = pattern.sub(province_name(k, lang), text)
    for i, n in enumerate(held):
        text = text.replace(f"\x00{i}\x00", n)
    return text


def prov_method_label(method: Any, lang: str) -> str:
    """How a facility's province was assigned, in ``lang``."""
    m = str(method or "")
    for key, pair in PROV_METHOD.items():
        if m.startswith(key):
            return pick(pair, lang)
    return pick(("theo quy tắc riêng của cấu hình", "by a rule of the configuration"), lang)


def demand_source_text(meta: RunMeta, lang: str) -> str:
    """The population source of a run, described in ``lang`` (English: the loader's text)."""
    sid = str(meta.demand_source_id or "")
    if lang == "vi":
        if sid in DEMAND_SOURCES:
            return DEMAND_SOURCES[sid]
        if sid.startswith("raster:"):
            return f"lưới dân số {sid.removeprefix('raster:')}"
        return "nguồn dân số do người dùng cung cấp" if sid else "–"
    text = str(meta.demand_source or sid or "–")
    return text.removeprefix(f"{sid}: ") if sid else text  # the loader's description, not its id
