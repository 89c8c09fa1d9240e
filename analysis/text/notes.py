"""Data notes and free-text columns as Vietnamese sentences, fragment by fragment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analysis.text.quality import road_class_label
from analysis.text.terms import prov_method_label

# data notes (geo.quality, geo.facilities) as Vietnamese sentences, fragment by fragment
_NOTE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), vi)
    for p, vi in (
        (r"^no polygon in the source \(point only\)$", "nguồn không có ranh giới (chỉ có điểm)"),
        (
            r"^possible duplicate of (?P<x>.+) \(within (?P<m>[\d.,]+) m\)$",
            "có thể trùng với {x} (cách nhau dưới {m} m)",
        ),
        (
            r"^possible duplicate of (?P<x>.+) \(near and same name\)$",
            "có thể trùng với {x} (gần nhau và cùng tên)",
        ),
        (r"^possible duplicate of (?P<x>.+) \((?P<r>.+)\)$", "có thể trùng với {x}"),
        (r"^nearest road (?P<km>[\d.]+) km away$", "đường bộ gần nhất cách {km} km"),
        (r"^province by rule (?P<method>\S+)$", "tỉnh được gán {method}"),
        (r"^status assumed \(none in source\)$", "tình trạng giả định (nguồn không ghi)"),
        (
            r"^IATA (?P<code>\w+) not in (?P<file>\S+) \(airportsdata\)$",
            "mã IATA {code} không có trong danh mục airportsdata",
        ),
        (r"^not in the official list (?P<file>.+)$", "không có trong danh sách chính thức"),
        (r"^WPI (?P<x>.+)$", "Chỉ mục cảng thế giới (WPI): {x}"),
        (
            r"^outside the region: nearest province (?P<p>.+) is (?P<km>[\d.]+) km away$",
            "nằm ngoài vùng: tỉnh gần nhất là {p}, cách {km} km",
        ),
        (r"^status '(?P<s>[^']*)' is not usable$", "tình trạng “{s}” không dùng được"),
        (r"^allowed values: .*$", "các giá trị hợp lệ được liệt kê trong lý do bằng tiếng Anh"),
        # road repairs (analysis.road_repairs)
        (
            r"^line end (?P<m>[\d.]+) m from a road it reached only by a detour$",
            "đầu đường cách một đường khác {m} m nhưng chỉ tới được bằng đường vòng",
        ),
        (
            r"^one-way (?P<road>\w+) edge with no way back, made two-way$",
            "đoạn {road} một chiều không có đường quay lại, chuyển thành hai chiều",
        ),
        (
            r"^one-way (?P<road>\w+) edge whose way back is over (?P<km>[\d.]+) km longer, made two-way$",
            "đoạn {road} một chiều chỉ quay lại được bằng đường vòng dài hơn {km} km, chuyển thành hai chiều",
        ),
        (
            r"^fragment of (?P<km>[\d.]+) km joined to the main network$",
            "mảng đường rời dài {km} km được nối vào mạng chính",
        ),
        # ferries, false junctions, far points (geo.ferries, geo.road_links, geo.point_connectors)
        (
            r"^ferry (?P<x>.+): (?P<min_a>[\d.]+) min crossing \+ (?P<min_b>[\d.]+) min mean wait"
            r" \(source: (?P<src>.+)\)$",
            "phà {x}: đi phà {min_a} phút + chờ trung bình {min_b} phút"
            " (nguồn: xem ghi chú tiếng Anh)",
        ),
        (
            r"^ferry (?P<x>.+): (?P<min_a>[\d.]+) min crossing \+ (?P<min_b>[\d.]+) min mean wait$",
            "phà {x}: đi phà {min_a} phút + chờ trung bình {min_b} phút",
        ),
        (
            r"^(?P<n>\d+) road edge\(s\) drawn across the water removed \(source: (?P<src>.+)\)$",
            "bỏ {n} đoạn đường vẽ băng qua mặt nước (nguồn: xem ghi chú tiếng Anh)",
        ),
        (
            r"^(?P<x>.+): the (?P<road>\w+) passes over without a junction$",
            "«{x}»: {road} đi qua phía trên, không có nút giao",
        ),
        (
            r"^(?P<n>\d+) crossing node\(s\) split \(source: (?P<src>.+)\)$",
            "tách {n} nút giao không có thật (nguồn: xem ghi chú tiếng Anh)",
        ),
        (  # a source row left out by id (units exclude_sites): the reason names the error
            r"^(?P<x>.+): a position error of the source$",
            "lỗi vị trí trong nguồn dữ liệu («{x}»)",
        ),
        (
            r"^facility (?P<x>.+): (?P<km>[\d.]+) km from the main network, beyond the access limit$",
            "cơ sở {x}: cách mạng đường chính {km} km, xa hơn giới hạn tiếp cận",
        ),
        (
            r"^facility (?P<x>.+): (?P<km>[\d.]+) km from the main network, more than (?P<m>[\d.]+) km$",
            "cơ sở {x}: cách mạng đường chính {km} km, xa hơn {m} km",
        ),
        (
            r"^shortest connector to (?P<road>\w+), standing for local roads the layers lack$",
            "nối bằng đoạn ngắn nhất tới {road}, thay cho đường địa phương mà dữ liệu còn thiếu",
        ),
        (
            r"^shortest connector to (?P<nn>.+) \((?P<road>\w+)\), standing for local roads the "
            r"layers lack$",
            "nối bằng đoạn ngắn nhất tới «{nn}» ({road}), thay cho đường địa phương mà dữ liệu còn "
            "thiếu",
        ),
        (
            r"^city (?P<x>.+): (?P<km>[\d.]+) km from the main network \(nearest: (?P<nn>.+) \((?P<road>\w+)\)\)$",
            "đô thị «{x}»: cách mạng đường chính {km} km (gần nhất: {nn}, {road})",
        ),
        (
            r"^city (?P<x>.+): (?P<km>[\d.]+) km from the main network \(nearest: (?P<road>\w+)\)$",
            "đô thị «{x}»: cách mạng đường chính {km} km (gần nhất: {road})",
        ),
        (
            r"^the local roads between are missing from the layers$",
            "dữ liệu còn thiếu các đường địa phương ở giữa",
        ),
        (
            r"^listed, not added \(its cells reach the road at the access speed\)$",
            "chỉ liệt kê, không thêm vào mạng (các ô quanh đó tới đường ở tốc độ tiếp cận)",
        ),
        # sites left out of an official unit (geo.units)
        (r"^fishing port: not a seaport terminal$", "cảng cá: không phải bến cảng biển"),
        (r"^dry port \(ICD\): not a seaport terminal$", "cảng cạn (ICD): không phải bến cảng biển"),
        (
            r"^no official seaport in (?P<p>.+) \((?P<e>\d+)-edition province\): .*$",
            "không có cảng biển chính thức ở {p} (ranh giới {e} tỉnh): có thể là cảng sông nội địa",
        ),
        (
            r"^heliport \(.*\): not a civil airport$",
            "sân bay trực thăng: không phải cảng hàng không dân dụng",
        ),
        (
            r"^military airfield \((?P<x>.+)\): not a civil airport$",
            "sân bay quân sự ({x}): không phải cảng hàng không dân dụng",
        ),
        (
            r"^captive terminal \(.*\): the people around it are not its users$",
            "bến chuyên dùng: người dân quanh bến không phải người sử dụng bến",
        ),
        (
            r"^ferry terminal \(.*\): the people around it are not its users$",
            "bến phà: người dân quanh bến không phải người sử dụng bến",
        ),
        # repaired input rows (geo.facilities)
        (
            r"^(?P<a>\S+) merged: duplicate of (?P<b>\S+) \((?P<n>.+)\): same place, (?P<m>[\d.]+) m apart$",
            "{a} được gộp: trùng với {b} ({n}), cùng vị trí, cách nhau {m} m",
        ),
    )
)


# free-text columns translated into a Vietnamese twin ``<column>_vi`` (layer: columns)
TRANSLATED_COLUMNS = {
    "road_repairs": ("note",),
    "terminals": ("excluded_reason",),
    "repairs": ("repair",),
    "rejects": ("reason",),
}


def with_vietnamese_text(layers: Mapping[str, Any]) -> dict[str, Any]:
    """``layers`` with a ``<column>_vi`` twin (:func:`note_text`) after each column of
    :data:`TRANSLATED_COLUMNS` (and ``data_note``); the frames are copies, the rest as given."""
    out = dict(layers)
    for name, cols in TRANSLATED_COLUMNS.items():
        df = out.get(name)
        if df is None:
            continue
        df = df.copy()
        for c in cols:
            if c in df.columns and f"{c}_vi" not in df.columns:
                pos = list(df.columns).index(c) + 1
                df.insert(pos, f"{c}_vi", [note_text(v, "vi") for v in df[c]])
        out[name] = df
    return out


_ENGLISH = re.compile(r"\b[A-Za-z]{3,}\b.*\b[A-Za-z]{3,}\b")
_VI_LETTERS = re.compile(
    r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I
)


def _fragments(text: str) -> list[str]:
    """``text`` split at the ``;`` that are outside parentheses, stripped."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [f for f in out if f]


def note_text(note: Any, lang: str) -> str:
    """A data note in ``lang``: each ``;``-separated fragment translated when it is known.

    English notes are returned as they are. In Vietnamese, a fragment no rule knows is kept as
    it is when it is Vietnamese already (a status copied from an official list) and quoted in
    «…» when it is the source's English (e.g. a CAAV status note), so that a reader sees it is
    a quotation. Decimal points of distances become commas.
    """
    if note is None or (isinstance(note, float) and note != note):
        return ""
    text = str(note)
    if lang != "vi" or not text:
        return text
    out = []
    for frag in _fragments(text):
        for pattern, vi in _NOTE_RULES:
            m = pattern.match(frag)
            if m:
                g = {k: v for k, v in m.groupdict().items() if v is not None}
                for unit in ("km", "m", "min_a", "min_b"):
                    if unit in g:
                        g[unit] = g[unit].replace(".", ",")
                if "method" in g:
                    g["method"] = prov_method_label(g["method"], "vi")
                if "road" in g:
                    g["road"] = road_class_label(g["road"])
                frag = vi.format(**g)
                break
        else:
            if _ENGLISH.search(frag) and not _VI_LETTERS.search(frag):
                frag = f"«{frag}»"  # the source's own words, quoted (no rule translates them)
        out.append(frag)
    return "; ".join(f for f in out if f)
