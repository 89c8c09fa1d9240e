"""Labels of the data-quality section: road-network repairs, quality tables, road classes."""

from __future__ import annotations

# road-network repair counts (meta["network"]["repair"]): key: (vi, en)
REPAIR_TEXT = {
    "input_lines": ("Số đường đầu vào", "Input lines"),
    "input_parts": ("Số đoạn đầu vào", "Input parts"),
    "road_km": ("Tổng chiều dài đường (km)", "Road length (km)"),
    "largest_km": ("Chiều dài mạng chính (km)", "Main network length (km)"),
    "largest_share": ("Tỷ lệ chiều dài thuộc mạng chính", "Share of length in the main network"),
    "crossings_split": ("Số giao cắt được tách thành nút", "Crossings split into junctions"),
    "endpoints_clustered": ("Số đầu mút được gộp", "Endpoints clustered"),
    "joins_to_node": ("Số lần nối vào nút", "Joins to a node"),
    "joins_to_line": ("Số lần nối vào đường", "Joins to a line"),
    "connectors_added": ("Số đoạn nối thêm", "Connectors added"),
    "connector_km": ("Chiều dài đoạn nối (km)", "Connector length (km)"),
    "collinear_overlaps": ("Số đoạn trùng nhau", "Collinear overlaps"),
    "quantum_m": ("Độ chính xác tọa độ (m)", "Coordinate quantum (m)"),
    "snap_tolerance_m": ("Dung sai bắt điểm (m)", "Snap tolerance (m)"),
    "grade_separation": ("Giao cắt khác mức", "Grade separation"),
}
REPAIR_NOTES_VI = {
    "grade_separation": (
        "mọi giao cắt của hai đường đều được coi là nút giao: lớp đường không cho biết giao cắt "
        "nào là cầu vượt hay hầm, nên cả giao cắt khác mức cũng được nối"
    ),
}

# the data-quality section (maps.quality_report): table headings and its own columns
QUALITY_TABLES = {
    "official_coverage": ("Số cơ sở so với số chính thức", "Counts against official totals"),
    "missing_units": (
        "Cơ sở chính thức chưa có điểm trên bản đồ (còn thiếu)",
        "Official units without a mapped site (missing)",
    ),
    "coastal_ports": ("Tỉnh ven biển và cảng biển", "Coastal provinces and their ports"),
    "suspected_duplicates": ("Nghi trùng lặp dữ liệu", "Suspected duplicates"),
    "road_length": ("Chiều dài đường theo cấp", "Road length by class"),
    "road_network": ("Mạng đường bộ", "Road network"),
    "population": (
        "Dân số so với số liệu chính thức (chênh lệch lớn nhất)",
        "Population against the official totals (largest deviations)",
    ),
}
QUALITY_FIELDS = {
    "province": ("Tỉnh, thành phố", "Province"),
    "general_ports": ("Số cảng tổng hợp", "General ports"),
    "seaports": ("Số cảng biển", "Seaports"),
    "has_port": ("Có cảng", "Has a port"),
    "distance_m": ("Khoảng cách (m)", "Distance (m)"),
    "name_ratio": ("Độ giống tên", "Name similarity"),
    "road_class": ("Cấp đường", "Road class"),
    "km": ("Chiều dài (km)", "Length (km)"),
    "expected_km": ("Chiều dài kỳ vọng (km)", "Expected (km)"),
    "ratio": ("Tỷ lệ", "Ratio"),
    "metric": ("Chỉ số", "Measure"),
    "value": ("Giá trị", "Value"),
    "source": ("Theo nguồn dân số", "Population source"),
    "census": ("Theo số liệu chính thức", "Official total"),
    "share": ("Tỷ lệ", "Share"),
}
NETWORK_METRICS = {
    "road_km": ("Tổng chiều dài đường (km)", "Road length (km)"),
    "components": ("Số mảng đường rời", "Components"),
    "largest_component_share": ("Tỷ lệ chiều dài thuộc mạng chính", "Largest component share"),
    "dangling_ends_before_repair": ("Số đầu cụt trước khi sửa", "Dangling ends before repair"),
    "dangling_ends_after_repair": ("Số đầu cụt sau khi sửa", "Dangling ends after repair"),
    "connectors_added": ("Số đoạn nối thêm", "Connectors added"),
    "connector_km": ("Chiều dài đoạn nối (km)", "Connector length (km)"),
    "edges": ("Số cạnh", "Edges"),
    "nodes": ("Số nút", "Nodes"),
}
ROAD_CLASSES = {
    "motorway": "đường cao tốc",
    "expressway": "đường cao tốc",
    "national_highway": "quốc lộ",
    "trunk": "quốc lộ",
    "primary": "đường tỉnh chính",
    "secondary": "đường tỉnh",
    "tertiary": "đường huyện",
    "provincial_road": "đường tỉnh",
    "national": "quốc lộ",
    "provincial": "đường tỉnh",
    "district": "đường huyện",
    "asean": "đường ASEAN",
}


def road_class_label(road_class: str) -> str:
    """An OSM road class in Vietnamese (``primary_link``: *nhánh nối đường tỉnh chính*)."""
    base = road_class.removesuffix("_link")
    name = ROAD_CLASSES.get(base, "đường")
    return f"nhánh nối {name}" if road_class.endswith("_link") else name
