"""report.html: numbers and evidence shown, names from data shown as text, offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from maps.report import write_report
from tests.fake_result import HOSTILE_NAME, make_fake_result


def _result():
    r = make_fake_result()
    r.meta = replace(
        r.meta,
        cells=2400,
        cell_size_m=1000,
        demand_total=12e6,
        flag_rule={
            "max_unique_share": 0.25,
            "min_other_province_share": 0.5,
            "max_loss_share": 0.02,
            "equivalent_share": 0.8,
        },
        verdict={
            "seaport": {
                "loss_share": 0.004,
                "lost_people": 12_000.0,
                "moved_people": 2.5e6,
                "extra_min": 6.5,
            },
            "airport": {
                "loss_share": 0.0,
                "lost_people": 0.0,
                "moved_people": 0.0,
                "extra_min": 0.0,
            },
        },
        sensitivity={"speed_factors": [0.8, 1.2], "threshold_shifts_min": [-15, 15]},
        network={
            "nodes": 10,
            "edges": 12,
            "components": 1,
            "length_km": 30.0,
            "largest_share_of_length": 1.0,
        },
    )
    return r


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_report_escapes_names_and_quotes_evidence(tmp_path: Path, lang: str):
    path = tmp_path / "report.html"
    write_report(_result(), path, lang=lang)
    html = path.read_text()
    assert "<img src=x" not in html, "a facility name was inserted as HTML"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert ("83% of the people" in html) if lang == "en" else ("83% dân số" in html)
    assert "latitude and longitude look swapped" in html, "rejected rows must be listed"
    assert "© OpenStreetMap contributors" in html


@pytest.mark.browser
def test_report_opens_offline_without_errors(tmp_path: Path):
    tool = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_html.py"
    if not tool.exists() or shutil.which("chromium") is None:
        pytest.skip("check_html.py or Chromium not available (sh ../shared/tools/install.sh)")
    path = tmp_path / "report.html"
    write_report(_result(), path, lang="vi")
    r = subprocess.run(
        [sys.executable, str(tool), str(path), "--no-map", "--json", "-", "--no-png"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["dialogs"] == [], f"script from data ran: {HOSTILE_NAME}"


def test_report_opens_with_quotable_summary_and_ranked_findings(tmp_path: Path):
    path = tmp_path / "report.html"
    write_report(_result(), path, lang="en")
    html = path.read_text()
    summary = html[html.index("<h2>Summary") : html.index("What the numbers stand on")]
    assert "1 of the 3 seaports is judged redundant at 120 min" in summary
    assert "12,000 people lose access and 2.5 million travel 6.5 min longer" in summary
    assert "removed, it would cost 0.4% of the demand served today" in summary
    # the findings: the verdict first, then overlap only (in the appendix), each with evidence
    main = html[: html.index('<section class="appendix">')]
    assert '<span class="v">Cảng Hà Nội</span>' in main
    assert '<span class="v">&lt;img' not in main, "an overlap-only facility listed as redundant"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.split('<section class="appendix">')[1]
    assert "<svg" in main and "Severity" in main and "People still served" in main
    assert "METHOD.md" in html
    assert (tmp_path / "METHOD.md").is_file(), "the method must travel with the report"


def test_vietnamese_report_writes_numbers_the_vietnamese_way(tmp_path: Path):
    path = tmp_path / "report.html"
    write_report(_result(), path, lang="vi")
    html = path.read_text()
    assert "12.000 người mất tiếp cận" in html and "0,4 %" in html and "2,5 triệu" in html
    assert "dư thừa" in html and "Tóm tắt" in html


def test_chart_labels_cut_the_name_not_the_province() -> None:
    from maps.report_charts import short_label

    long = "Khu công nghiệp Sóng Thần 3 mở rộng giai đoạn hai (TP. Hồ Chí Minh)"
    cut = short_label(long)
    assert len(cut) <= 44 and cut.endswith("… (TP. Hồ Chí Minh)"), cut
    assert short_label("Cảng Cát Lái (TP. Hồ Chí Minh)") == "Cảng Cát Lái (TP. Hồ Chí Minh)"
    assert len(short_label("x" * 60)) == 44


def test_rank_correlation_is_quoted_only_with_enough_facilities() -> None:
    """A Spearman rho on 4 seaports (1.00 by chance once in 24 orders) is not quoted: the
    sentence says the data are too few; on 14 airports it is."""
    from dataclasses import replace

    from maps.report_sections import MIN_RANK_N, capacity_check
    from tests.fake_result import make_fake_result

    result = make_fake_result()
    checks = {
        "seaport": {"n": 4, "rho_demand": 1.0, "rho_coverage": 1.0},
        "airport": {"n": 14, "rho_demand": 0.41, "rho_coverage": 0.43},
    }
    result = replace(result, meta=replace(result.meta, capacity_check=checks))
    assert 4 < MIN_RANK_N <= 14
    vi = capacity_check(result, "vi")
    en = capacity_check(result, "en")
    assert len(vi) == len(en) == 2
    sea_en = next(s for s in en if "only 4" in s)
    assert "too few" in sea_en and "1.00" not in sea_en
    assert any("0.41" in s and "14" in s for s in en)
    assert any("quá ít" in s for s in vi) and any("0,41" in s for s in vi)
