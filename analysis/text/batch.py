"""The batch report's words (``maps/batch_report.py``, ``batch_report.html.j2``), vi and en.

Keys are used by the template as ``tr.<key>``; ``{name}`` placeholders are filled by the
template. Table values (scenario status, kind of change) stay codes in the CSV and XLSX files and
are translated for display only (:data:`BATCH_STATUS`, :data:`BATCH_CHANGES`).
"""

from __future__ import annotations

BATCH_TEXT: dict[str, tuple[str, str]] = {
    "title": ("So sánh kịch bản", "Scenario comparison"),
    "n_scenarios": ("kịch bản", "scenarios"),
    "run_now": ("chạy lần này", "run now"),
    "finished_earlier": ("đã chạy trước đó (bỏ qua)", "finished earlier (skipped)"),
    "failed_n": ("lỗi", "failed"),
    "workers": ("tiến trình Dask", "Dask worker(s)"),
    "seconds_invocation": ("giây cho lần chạy này", "s for this invocation"),
    "baseline": ("kịch bản gốc", "baseline"),
    "compared_with": ("so với", "compared with"),
    "shared_inputs": (
        "Dữ liệu dùng chung (ranh giới tỉnh, mạng đường, dân số) được dựng {n} lần cho",
        "Shared inputs (provinces, road network, population) were built {n} time(s) for",
    ),
    "scenarios_short": ("kịch bản", "scenario(s)"),
    "shared_saved": (
        "dựng lại trong mỗi kịch bản sẽ tốn thêm khoảng {s} giây.",
        "building them in every scenario would have cost about {s} s more.",
    ),
    "h_scenarios": ("Các kịch bản", "Scenarios"),
    "scenario": ("Kịch bản", "Scenario"),
    "status": ("Trạng thái", "Status"),
    "description": ("Mô tả", "Description"),
    "settings": ("Thiết lập (so với mặc định của tệp)", "Settings (vs. the file's defaults)"),
    "run_s": ("Thời gian chạy (giây)", "Run (s)"),
    "hash_folder": ("Mã băm / thư mục", "Hash / folder"),
    "report": ("báo cáo", "report"),
    "map": ("bản đồ", "map"),
    "manifest": ("tệp kê khai", "manifest"),
    "h_summary": (
        "Dân số được phục vụ, tỷ lệ phục vụ riêng và cơ sở dư thừa theo kịch bản",
        "Coverage, unique share and flags per scenario",
    ),
    "no_finished": ("Chưa có kịch bản nào chạy xong.", "No finished scenario."),
    "type": ("Loại cơ sở", "Type"),
    "edition": ("Ranh giới", "Edition"),
    "primary_min": ("Ngưỡng chính (phút)", "Primary (min)"),
    "facilities": ("Số cơ sở", "Facilities"),
    "planned": ("Quy hoạch", "Planned"),
    "people_covered": ("Dân số được phục vụ", "People covered"),
    "covered": ("Tỷ lệ được phục vụ", "Covered"),
    "unique_share": ("Tỷ lệ chỉ một cơ sở phục vụ", "Unique share"),
    "duplicated_pairs": (
        "Dân số được hai tỉnh phục vụ chung (tổng các cặp)",
        "Duplicated (pairs, people)",
    ),
    "flags": ("Cơ sở dư thừa", "Flags"),
    "h_changes": (
        "Thay đổi của từng kịch bản so với {b}",
        "What each scenario changes against {b}",
    ),
    "change": ("Thay đổi", "Change"),
    "facility": ("Cơ sở", "Facility"),
    "province": ("Tỉnh, thành phố", "Province"),
    "first_changes": (
        "{n} thay đổi đầu tiên trong tổng số {total}; tất cả có trong tables/changes.csv và "
        "report.xlsx.",
        "First {n} of {total} changes; all are in tables/changes.csv and report.xlsx.",
    ),
    "no_change": (
        "Không có cơ sở hay kết luận nào khác kịch bản gốc trong các loại cơ sở mà cả hai cùng "
        "chạy.",
        "No facility or flag differs from the baseline among the types both run.",
    ),
    "h_matrix": (
        "Dân số được hai tỉnh phục vụ chung: {c} trừ {b}",
        "Province × province duplicated coverage: {c} minus {b}",
    ),
    "matrix_note": (
        "Phục vụ chung[A, B] = số người trong ngưỡng chính của một cơ sở thuộc tỉnh A và của một "
        "cơ sở thuộc tỉnh B (A ≠ B), mỗi kịch bản theo ngưỡng chính của nó. Đỏ: nhiều người được "
        "phục vụ hai lần hơn trong {c}; xanh: ít hơn. Di chuột lên một ô để xem hai tỉnh và số "
        "người.",
        "duplicated[A, B] = people within the primary threshold of a facility of A and of a "
        "facility of B (A ≠ B), each scenario at its own primary threshold. Red: more people "
        "served twice in {c}; blue: fewer. Hover a cell for the provinces and the number.",
    ),
    "province_a": ("Tỉnh A", "Province A"),
    "province_b": ("Tỉnh B", "Province B"),
    "difference_people": ("Chênh lệch (người)", "Difference (people)"),
    "no_pair": ("Không có cặp tỉnh nào khác nhau.", "No province pair differs."),
    "h_sources": ("Nguồn gốc các con số", "Where the numbers come from"),
    "sources": (
        "Mỗi dòng của báo cáo này ghi kịch bản, mã băm SHA-256 (<code>hash</code>) của các tham "
        "số đã chuẩn hoá và các tệp đầu vào của kịch bản, và thư mục (<code>folder</code>, "
        "<code>scenarios/&lt;tên&gt;-&lt;hash12&gt;/</code>) mà tệp <code>manifest.json</code> "
        "liệt kê các đầu vào kèm mã băm, các tham số và các phiên bản. Dân số được phục vụ = tổng "
        "<code>coverage_&lt;loại&gt;</code> của <code>tables/provinces.csv</code> trong thư mục; "
        "tỷ lệ chỉ một cơ sở phục vụ = tổng <code>unique_coverage</code> / tổng "
        "<code>coverage</code> của <code>tables/facilities.csv</code> tại ngưỡng chính; phục vụ "
        "chung = tổng <code>duplicated</code> trên các cặp tỉnh A &lt; B của "
        "<code>tables/province_matrix.csv</code> tại ngưỡng chính; cơ sở dư thừa = các cơ sở có "
        "<code>flag</code> đúng. Các bảng này cũng có trong <code>report.xlsx</code> và "
        "<code>tables/*.csv</code> bên cạnh tệp này.",
        "Every row of this report names its scenario, the SHA-256 <code>hash</code> of the "
        "scenario's normalised parameters and input files, and its <code>folder</code> "
        "(<code>scenarios/&lt;name&gt;-&lt;hash12&gt;/</code>), whose <code>manifest.json</code> "
        "lists the inputs with their hashes, the parameters and the versions. People covered = Σ "
        "<code>coverage_&lt;type&gt;</code> of the folder's <code>tables/provinces.csv</code>; "
        "unique share = Σ <code>unique_coverage</code> / Σ <code>coverage</code> of "
        "<code>tables/facilities.csv</code> at the primary threshold; duplicated = Σ "
        "<code>duplicated</code> over province pairs A &lt; B of "
        "<code>tables/province_matrix.csv</code> at the primary threshold; flags = facilities "
        "with <code>flag</code> true. The same tables are in <code>report.xlsx</code> and "
        "<code>tables/*.csv</code> beside this file.",
    ),
    # chart titles: {t} = the type's label
    "chart_covered": (
        "{t}: tỷ lệ dân số được phục vụ trong ngưỡng chính (%)",
        "{t}: population covered within the primary threshold (%)",
    ),
    "chart_unique": (
        "{t}: tỷ lệ dân số chỉ một cơ sở phục vụ (%)",
        "{t}: unique share of catchment people (%)",
    ),
    "chart_flags": ("{t}: số cơ sở dư thừa", "{t}: facilities flagged redundant"),
    "chart_heat": (
        "{t}: dân số được phục vụ chung, {c} trừ {b}",
        "{t}: duplicated people, {c} minus {b}",
    ),
    "people": ("người", "people"),
    "sec": ("giây", "s"),
    "not_available": ("không có", "n/a"),
    "minutes": ("phút", "min"),
    "not_comparable": (
        "không so sánh được: {s} không có ma trận {ed} tỉnh",
        "not comparable: {s} has no {ed}-province matrix",
    ),
    "in_edition": ("theo ranh giới {ed} tỉnh", "in the {ed}-province edition"),
    "needs_both": ("cần cả {b} và {c} đã chạy xong", "needs both {b} and {c} finished"),
}
BATCH_STATUS = {
    "done": ("đã chạy", "done"),
    "skipped": ("đã chạy trước đó", "skipped"),
    "failed": ("lỗi", "failed"),
}
BATCH_CHANGES = {
    "facility added": ("thêm cơ sở", "facility added"),
    "facility removed": ("bỏ cơ sở", "facility removed"),
    "flag appears": ("xuất hiện kết luận dư thừa", "flag appears"),
    "flag disappears": ("mất kết luận dư thừa", "flag disappears"),
}
