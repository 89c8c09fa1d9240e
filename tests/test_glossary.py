"""The glossary (analysis.glossary) and the language scan (tests.lang_scan) on hand-made text."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.glossary import (
    FIELD_TEXT,
    LAYER_TEXT,
    TERMS,
    class_label,
    demand_source_text,
    note_text,
    with_vietnamese_text,
)
from analysis.results import RunMeta
from tests.lang_scan import english_numbers, english_words, visible_html_text


def test_every_vietnamese_label_is_vietnamese():
    """Aliases, layer titles and terms: no English word or number format on the Vietnamese side."""
    vi = [v for v, _en, _d in FIELD_TEXT.values()] + [t[0] for t in TERMS.values()]
    vi += [t for title in LAYER_TEXT.values() for t in (title[0], title[2])]
    bad = {t: english_words(t) + english_numbers(t) for t in vi}
    assert not {t: h for t, h in bad.items() if h}, bad


def test_each_term_once_and_both_languages():
    assert all(vi and en for vi, en in TERMS.values())
    assert all(vi and en for vi, en, _ in FIELD_TEXT.values()), "a field without an alias"
    vi_aliases = [v for v, _en, _d in FIELD_TEXT.values()]
    # a repeated alias is allowed only for columns that are the same quantity in two tables
    repeated = {a for a in vi_aliases if vi_aliases.count(a) > 1}
    assert repeated <= {"Tỉnh A", "Tỉnh B", "Dân số", "Dân số được phục vụ", "Tỷ lệ",
                        "Số điểm thành viên", "Đã nạp", "Nguồn số chính thức"}, repeated  # fmt: skip


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("no polygon in the source (point only)", "nguồn không có ranh giới (chỉ có điểm)"),
        ("status assumed (none in source)", "tình trạng giả định (nguồn không ghi)"),
        ("nearest road 2.5 km away", "đường bộ gần nhất cách 2,5 km"),
        ("province by rule official_list", "tỉnh được gán theo danh sách chính thức"),
        (
            "possible duplicate of KCN Đại An (within 1000 m); status assumed (none in source)",
            "có thể trùng với KCN Đại An (cách nhau dưới 1000 m); "
            "tình trạng giả định (nguồn không ghi)",
        ),
        ("fragment of 62.6 km joined to the main network", "mảng đường rời dài 62,6 km được nối vào mạng chính"),
        ("Đang khai thác", "Đang khai thác"),  # already Vietnamese: unchanged
    ],
)  # fmt: skip
def test_data_notes_in_vietnamese(note, expected):
    assert note_text(note, "vi") == expected
    assert note_text(note, "en") == note


def test_classes_and_demand_source():
    assert class_label("international", "vi") == "quốc tế"
    assert class_label("II", "vi") == "loại II" and class_label("II", "en") == "class II"
    assert class_label(None, "vi") == ""
    meta = RunMeta(demand_source_id="communes_census2019_scaled_nso2024", demand_source="x: y")
    assert "Tổng điều tra 2019" in demand_source_text(meta, "vi")
    assert demand_source_text(meta, "en") == "x: y"


def test_vietnamese_twins_of_free_text():
    layers = {
        "rejects": pd.DataFrame(
            {"reason": ["outside the region: nearest province Huế is 3.5 km away"]}
        )
    }
    out = with_vietnamese_text(layers)
    assert list(out["rejects"].columns) == ["reason", "reason_vi"]
    assert (
        out["rejects"]["reason_vi"].iloc[0] == "nằm ngoài vùng: tỉnh gần nhất là Huế, cách 3,5 km"
    )
    assert list(layers["rejects"].columns) == ["reason"], "the input frame must not change"


def test_scan_finds_english_and_keeps_vietnamese():
    assert english_words("Cảng biển Hải Phòng phục vụ 2,3 triệu người trong 45 phút") == []
    assert english_words("Long An, Cam Ranh, Tân Sơn Nhất, TP. Hồ Chí Minh, KCN, km") == []
    assert english_words("possible duplicate of X") == ["possible", "duplicate", "of"]
    assert english_words("Vùng key_econ_region") == ["key_econ_region"]
    assert english_words("robust", names=["robust"]) == [], "a proper name of the run is kept"
    assert english_numbers("2.5 km; 3,321 xã; 98.0 %; 2026-08-11; 98%") == [
        "2.5",
        "3,321",
        "98.0",
        "2026-08-11",
        "8%",
    ]
    assert english_numbers("2,5 km; 3.321 xã; 98,0 %; 11/08/2026; 101.343.900") == []


def test_visible_text_skips_the_english_side_and_code():
    page = (
        "<html><body><h1><l-vi>Bản đồ</l-vi><l-en>Map</l-en></h1>"
        '<ul lang="en"><li>Census 2019</li></ul>'
        "<script>var x = function () { return 'library'; };</script>"
        '<script>var p = {"tip": "\\u003cl-vi\\u003eC\\u1ea3ng\\u003c/l-vi\\u003e\\u003cl-en\\u003ePort\\u003c/l-en\\u003e"};</script>'
        "</body></html>"
    )
    assert visible_html_text(page) == ["Bản đồ", "Cảng"]
