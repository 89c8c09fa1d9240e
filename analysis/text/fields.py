"""Names and descriptions of the GeoPackage layers, tables and columns (vi and en)."""

from __future__ import annotations

from analysis.text.field_descriptions import FIELD_DESC_VI

# GeoPackage layers and tables: (title vi, title en, description vi, description en)
LAYER_TEXT: dict[str, tuple[str, str, str, str]] = {
    "facilities": (
        "Cơ sở hạ tầng",
        "Facilities",
        "Cảng biển, cảng hàng không, khu công nghiệp với các chỉ số tại ngưỡng chính",
        "Seaports, airports, industrial parks with their measures at the type's primary break",
    ),
    "flags": (
        "Cơ sở trùng lặp, dư thừa",
        "Overlapping and redundant facilities",
        "Cơ sở trùng lặp (mô tả) hoặc được kết luận là dư thừa, kèm diễn giải",
        "Facilities flagged by the overlap rule or found redundant by the joint verdict, "
        "with the evidence",
    ),
    "catchments": (
        "Vùng phục vụ",
        "Catchments",
        "Vùng phục vụ theo thời gian di chuyển (hợp các ô lưới được tiếp cận)",
        "Drive-time catchments per facility and break (union of the reached demand cells)",
    ),
    "overlaps": (
        "Trùng lặp giữa hai cơ sở",
        "Overlaps",
        "Cặp cơ sở cùng loại có vùng phục vụ chồng lấn",
        "Same-type facility pairs whose catchments overlap, per break",
    ),
    "terminals": (
        "Bến cảng thành viên",
        "Terminals (member sites)",
        "Các điểm (bến cảng, điểm chính thức) của mỗi cơ sở chính thức, kèm lý do nếu bị loại",
        "Sites (terminals, official points) of each official unit, with the reason if left out",
    ),
    "province_matrix": (
        "Ma trận tỉnh",
        "Province matrix",
        "Dân số được phục vụ và phục vụ chung giữa các tỉnh (dạng dài)",
        "People served and duplicated between provinces (long form)",
    ),
    "provinces": (
        "Tỉnh, thành phố",
        "Provinces",
        "Tỉnh, thành phố với dân số được cơ sở tỉnh khác phục vụ, theo loại",
        "Provinces with the people served from outside per type",
    ),
    "rejects": (
        "Dòng bị loại",
        "Rejected rows",
        "Các dòng đầu vào không được dùng, kèm lý do",
        "Input rows not used, with the reason",
    ),
    "road_repairs": (
        "Sửa mạng đường",
        "Road repairs",
        "Đoạn nối và đường một chiều được sửa trong mạng đường, kèm cơ sở và dân số được nối lại",
        "Connectors and one-way edges repaired in the road network, with the facilities and "
        "people they reconnect",
    ),
    "repairs": (
        "Dòng được sửa",
        "Repaired rows",
        "Các sửa chữa không mơ hồ đã áp dụng",
        "Unambiguous repairs applied to input rows",
    ),
    "covering": (
        "Tập cơ sở tối thiểu",
        "Minimal cover",
        "Số cơ sở ít nhất giữ được mọi người đang được phục vụ, theo loại",
        "Fewest facilities that keep everyone served, per type",
    ),
    "coverage_curve": (
        "Đường cong dân số được phục vụ",
        "Coverage curve",
        "Dân số vẫn được phục vụ theo số cơ sở giữ lại (tốt nhất), theo loại",
        "People still served by the best p facilities, per type",
    ),
    "sharing_keys": (
        "Tỷ lệ chia sẻ theo tỉnh",
        "Sharing keys",
        "Phần dân số được phục vụ của mỗi cơ sở theo tỉnh",
        "Each facility's people served, by province",
    ),
    "group_measures": (
        "Chỉ số theo nhóm tỉnh",
        "Group measures",
        "Dân số được phục vụ trong và ngoài nhóm tỉnh (tỉnh, vùng kinh tế trọng điểm)",
        "People served from inside and outside each group of provinces",
    ),
    "group_pairs": (
        "Cặp nhóm tỉnh",
        "Group pairs",
        "Dân số được hai nhóm tỉnh phục vụ chung",
        "People served by both groups of a pair",
    ),
    "facility_counts": (
        "Số cơ sở theo loại",
        "Facility counts",
        "Số cơ sở đã nạp so với số chính thức, theo loại",
        "Facilities loaded against the official count, per type",
    ),
}

# field aliases (what a column is called in a table) and descriptions
# column | alias vi | alias en | description en (units in the description)
_FIELD_TABLE = """
facility_id | Mã cơ sở | Facility ID | stable unique facility identifier
name | Tên | Name | facility name as given by the source
type | Loại cơ sở | Type | facility type: seaport, airport or industrial_park
status | Tình trạng | Status | operating or planned
status_source | Nguồn tình trạng | Status source | source: given by the data; assumed: default
class | Cấp, hạng | Class | like-with-like class (e.g. international/domestic airport)
capacity | Công suất | Capacity | capacity as given by the source, unit in capacity_unit
capacity_unit | Đơn vị công suất | Capacity unit | unit of capacity
prov34_code | Mã tỉnh (34) | Province code (34) | province code, 34-province edition (2025)
prov34_name | Tỉnh (34) | Province (34) | province name, 34-province edition (2025)
prov63_code | Mã tỉnh (63) | Province code (63) | province code, 63-province edition
prov63_name | Tỉnh (63) | Province (63) | province name, 63-province edition
prov63_codes | Mã tỉnh cũ (63) | Former codes (63) | 63-edition codes merged into this province, |-separated
prov_code | Mã tỉnh | Province code | province code in the run's edition
prov_name | Tỉnh | Province | province name in the run's edition
region6_code | Mã vùng kinh tế - xã hội | Region | socio-economic region (6 regions)
prov_method | Cách gán tỉnh | Province method | how the province was assigned
edition | Phiên bản ranh giới | Edition | province edition: 34 or 63 provinces
population | Dân số | Population | people
primary_break_min | Ngưỡng chính (phút) | Primary break (min) | the type's primary travel-time threshold, minutes
break_min | Ngưỡng (phút) | Break (min) | travel-time threshold, minutes
road_access | Tiếp cận đường bộ | Road access | network, separate_network (island) or none
access_dist_m | Khoảng cách tới đường (m) | Distance to road (m) | straight-line distance to the snapped road point, metres
coverage | Dân số phục vụ | People served | people within the threshold (demand-weighted)
unique_coverage | Dân số chỉ cơ sở này phục vụ | Served only by it | people within the threshold of no other same-type facility
unique_share | Tỷ lệ chỉ cơ sở này phục vụ | Unique share | unique_coverage / coverage (0-1)
other_province_share | Tỷ lệ do tỉnh khác phục vụ | Share served from other provinces | share of coverage also within reach of a same-type facility in another province (0-1)
flag | Đánh dấu dư thừa | Redundancy flag | 1 if flagged as possibly redundant (see evidence)
flag_robustness | Độ ổn định của kết luận | Flag robustness | robust: flag holds under the sensitivity check; fragile: it does not
evidence_vi | Diễn giải | Evidence (vi) | evidence for the flag, Vietnamese
evidence_en | Diễn giải (tiếng Anh) | Evidence | evidence for the flag, English
removal_penalty_min | Thời gian tăng thêm nếu bỏ (phút) | Removal penalty (min) | demand-weighted mean extra travel time if removed, minutes, over people who keep access
removal_lost | Dân số mất tiếp cận nếu bỏ | People losing access if removed | people who lose access within the primary break if removed
best_alternative_id | Mã cơ sở thay thế | Best alternative ID | nearest same-type alternative facility
best_alternative_name | Cơ sở thay thế | Best alternative | name of the best alternative
best_alternative_province | Tỉnh của cơ sở thay thế | Alternative's province | province of the best alternative
best_alternative_extra_min | Thời gian tăng thêm tới cơ sở thay thế (phút) | Extra time to alternative (min) | extra minutes to the best alternative
sharing_key | Tỷ lệ chia sẻ theo tỉnh | Sharing key | each province's share of coverage
demand_huff | Nhu cầu theo Huff (người) | Huff demand (people) | people likely to use the airport: people within the cut-off shared between competing airports by a Huff share with time decay
demand_grdp | Khối lượng kinh tế (tỷ đồng/năm) | Economic mass (billion VND/yr) | people x provincial GRDP per head within the cut-off, shared between competing seaports by a Huff share (billion VND a year)
demand_workers | Nguồn lao động chia sẻ (người 15-64) | Shared labour pool (people 15-64) | working-age people within commuting reach, shared among competing parks by area x decay weight
demand_workers_per_ha | Lao động trên ha (người 15-64/ha) | Labour pool per ha (people 15-64/ha) | demand_workers / park area
demand_e2sfca_workers_per_ha | Lao động trên ha, E2SFCA (người/ha) | E2SFCA workers per ha | decay-weighted working-age people in reach per ha, not shared (1 / E2SFCA ratio)
demand_area_assumed | Diện tích lấy theo giá trị giả định | Area assumed | the park has no area; the median park area was used as its supply
data_note | Ghi chú dữ liệu (tiếng Anh) | Data note | known data problem for this row
data_note_vi | Ghi chú dữ liệu | Data note (vi) | the data note in Vietnamese
note_vi | Ghi chú | Note (vi) | what the repair did, Vietnamese
excluded_reason_vi | Lý do loại | Reason left out (vi) | why the site is not a member, Vietnamese
repair_vi | Nội dung sửa | Repair (vi) | what was repaired, Vietnamese
reason_vi | Lý do | Reason (vi) | why the row was not used, Vietnamese
source | Nguồn | Source | input file or source of the row
facility_a | Cơ sở A | Facility A | first facility of the pair (facility_a < facility_b)
facility_b | Cơ sở B | Facility B | second facility of the pair
name_a | Tên A | Name A | name of A
name_b | Tên B | Name B | name of B
overlap | Dân số được phục vụ chung | People in overlap | people within the threshold of both facilities
overlap_share | Tỷ lệ phục vụ chung | Overlap share | overlap / min(coverage A, coverage B) (0-1)
prov_a | Tỉnh A | Province A | province code of facility A
prov_b | Tỉnh B | Province B | province code of facility B
province_a | Tỉnh A | Province A | province code A
province_b | Tỉnh B | Province B | province code B
served_by | Dân số A được B phục vụ | People of A served from B | people in A within the threshold of a facility in B
duplicated | Dân số được A và B phục vụ chung | People served by both A and B | people within the threshold of a facility of A and of B
row | Dòng | Row | 1-based data row (header excluded) or feature position
field | Trường | Field | the field concerned
reason | Lý do (tiếng Anh) | Reason | why the row was not used
repair | Nội dung sửa (tiếng Anh) | Repair | what was repaired
site_id | Mã điểm | Site ID | identifier of the site (terminal, or the unit's official point)
unit_id | Mã cơ sở chính thức | Unit ID | the official unit (facility_id) the site is a member of; empty if left out
kind | Nguồn điểm | Site source | source layer of the site
use | Công dụng | Use | captive or ferry when tagged so from its name or tags
member | Thành viên | Member | yes: a member site of its unit; no: left out (see excluded_reason)
excluded_reason | Lý do loại (tiếng Anh) | Reason left out | why the site is not a member of a unit (empty: member)
members | Bến thành viên | Member sites | names of the unit's member sites (terminals)
n_members | Số điểm thành viên | Member sites (count) | number of member sites, the official point included
area_ha | Diện tích (ha) | Area (ha) | area of the park polygon, hectares
source_row | Dòng nguồn | Source row | row of the input file the facility comes from
doubtful | Dữ liệu cần kiểm tra | Doubtful data | 1 if the data quality checks found a problem (see data_note)
doubt_score | Số vấn đề dữ liệu | Data problems (count) | number of data quality problems found
throughput | Sản lượng thông qua | Throughput | published throughput, unit in throughput_unit
throughput_unit | Đơn vị sản lượng | Throughput unit | unit of throughput
throughput_year | Năm sản lượng | Throughput year | year of the published throughput
throughput_teu | Sản lượng container (TEU) | Container throughput (TEU) | container throughput, TEU a year
design_capacity | Công suất thiết kế | Design capacity | design capacity, unit in design_capacity_unit
design_capacity_unit | Đơn vị công suất thiết kế | Design capacity unit | unit of design capacity
capacity_source | Nguồn số liệu công suất | Capacity source | where the throughput or capacity was published (URL)
overlap_flag | Trùng lặp (mô tả) | Overlap flag | 1 if the overlap rule alone flags the facility (descriptive, not the verdict)
overlap_robustness | Độ ổn định của trùng lặp | Overlap robustness | robust or fragile under the sensitivity check
verdict | Kết luận dư thừa | Redundancy verdict | 1 if the joint verdict finds the facility redundant
verdict_reason | Lý do kết luận | Verdict reason | code of the rule that decided the verdict
severity | Mức độ | Severity | ranking score of the finding (higher: more redundant)
verdict_rank | Hạng | Rank | rank of the finding within its type (1: most redundant)
equivalent_group | Nhóm tương đương | Equivalent group | facilities that serve the same people (interchangeable in the covering)
in_minimal_cover | Thuộc tập tối thiểu | In the minimal cover | 1 if the facility is in a smallest set that keeps everyone served
input_rows | Số dòng đầu vào | Input rows | rows read from the input files
loaded | Đã nạp | Loaded | facilities loaded
excluded | Bị loại khỏi phạm vi | Excluded | rows left out (not of the type, outside the scope)
rejected | Bị từ chối | Rejected | rows rejected (see rejects)
merged_duplicates | Bản trùng đã gộp | Merged duplicates | duplicate rows merged
official_count | Số chính thức | Official count | official number of facilities of the type
official_source | Nguồn số chính thức | Official source | where the official count comes from
official_source_vi | Nguồn số chính thức | Official source (vi) | where the official count comes from, Vietnamese
member_sites | Số điểm thành viên | Member sites | member sites (terminals) of the loaded units
missing | Số còn thiếu | Missing | official units with no mapped site
grouping | Cách nhóm | Grouping | how provinces are grouped (province edition, key economic region)
group_code | Mã nhóm | Group code | code of the group
group_name | Tên nhóm | Group name | name of the group
group_a | Nhóm A | Group A | first group of the pair
group_b | Nhóm B | Group B | second group of the pair
n_operating | Số cơ sở đang hoạt động | Operating facilities | operating facilities in the group
n_planned | Số cơ sở quy hoạch | Planned facilities | planned facilities in the group
n_flagged | Số cơ sở dư thừa | Redundant facilities | facilities found redundant in the group
people | Dân số | People | people
people_covered | Dân số được phục vụ | People covered | people within the primary break of a facility
covered_by_own | Do cơ sở trong nhóm phục vụ | Served from inside | people within reach of a facility of the group
covered_by_outside | Do cơ sở ngoài nhóm phục vụ | Served from outside | people within reach of a facility outside the group
covered_only_by_outside | Chỉ do cơ sở ngoài nhóm phục vụ | Served only from outside | people within reach of outside facilities only
duplicated_with_outside | Được phục vụ chung với ngoài nhóm | Served by both inside and outside | people within reach of a facility inside and one outside
min_cover_own | Số cơ sở tối thiểu (chỉ trong nhóm) | Minimal cover (own) | fewest facilities of the group that keep its people served
min_cover_given_outside | Số cơ sở tối thiểu (tính cả ngoài nhóm) | Minimal cover given outside | fewest facilities of the group needed when outside facilities also serve
key_econ_region_vi | Vùng kinh tế trọng điểm | Key economic region | key economic region (Vietnamese name)
repair_id | Mã sửa | Repair ID | identifier of the road repair
length_m | Chiều dài (m) | Length (m) | length of the connector, metres
facilities_reconnected | Cơ sở được nối lại | Facilities reconnected | facilities the repair reconnects to the main network
n_facilities_reconnected | Số cơ sở được nối lại | Facilities reconnected (count) | number of facilities reconnected
people_reconnected | Dân số được nối lại | People reconnected | people reconnected to the main network
component_km | Chiều dài mảng đường (km) | Fragment length (km) | length of the road fragment joined, km
note | Ghi chú (tiếng Anh) | Note | what the repair did
p | Số cơ sở giữ lại | Facilities kept | number of facilities kept (the curve's x)
covered | Dân số vẫn được phục vụ | People still served | people served by the best p facilities
share | Tỷ lệ | Share | share (0-1)
facility_ids | Các cơ sở giữ lại | Facilities kept (IDs) | facility_id of the kept facilities, |-separated
optimal | Tối ưu đã chứng minh | Proved optimal | 1 if the solver proved the set optimal
upper_bound | Cận trên | Upper bound | upper bound on the people that p facilities can serve
n_facilities | Số cơ sở | Facilities | number of facilities of the type
covered_people | Dân số được phục vụ | People served | people within the primary break of any facility
min_cover_size | Số cơ sở tối thiểu | Minimal cover size | fewest facilities that keep everyone served
min_cover_ids | Các cơ sở của tập tối thiểu | Minimal cover (IDs) | facility_id of a minimal cover, |-separated
mip_gap | Sai số tối ưu | MIP gap | relative optimality gap of the solver
curve_points | Số điểm đường cong | Curve points | points of the coverage curve computed
curve_points_proved | Số điểm đã chứng minh | Curve points proved | points proved optimal
p_90 | Số cơ sở giữ 90 % | Facilities for 90 % | fewest facilities that keep 90 % of the people served
p_90_proved | Đã chứng minh (90 %) | Proved (90 %) | 1 if p_90 is proved
p_95 | Số cơ sở giữ 95 % | Facilities for 95 % | fewest facilities that keep 95 % of the people served
p_95_proved | Đã chứng minh (95 %) | Proved (95 %) | 1 if p_95 is proved
p_99 | Số cơ sở giữ 99 % | Facilities for 99 % | fewest facilities that keep 99 % of the people served
p_99_proved | Đã chứng minh (99 %) | Proved (99 %) | 1 if p_99 is proved
cover_sentence_vi | Diễn giải tập tối thiểu | Minimal cover sentence (vi) | the minimal cover in a sentence, Vietnamese
cover_sentence_en | Diễn giải tập tối thiểu (tiếng Anh) | Minimal cover sentence | the minimal cover in a sentence, English
curve_sentence_vi | Diễn giải đường cong | Curve sentence (vi) | the coverage curve in a sentence, Vietnamese
curve_sentence_en | Diễn giải đường cong (tiếng Anh) | Curve sentence | the coverage curve in a sentence, English
lon | Kinh độ | Longitude | longitude, degrees (WGS 84)
lat | Vĩ độ | Latitude | latitude, degrees (WGS 84)
geometry | Vị trí, hình dạng | Geometry | the feature's point, line or polygon
prov_dist_m | Khoảng cách tới tỉnh (m) | Distance to province (m) | distance to the assigned province when outside every polygon, metres
"""
FIELD_TEXT: dict[str, tuple[str, str, str]] = {
    parts[0]: (parts[1], parts[2], parts[3])
    for parts in (
        tuple(p.strip() for p in line.split(" | ")) for line in _FIELD_TABLE.strip().splitlines()
    )
}
PER_TYPE_TEXT = {  # prefix: (alias vi, alias en, description en), {t} = the type label
    "covered_by_others_share_": (
        "Tỷ lệ do tỉnh khác phục vụ – {t}",
        "Share served from outside – {t}",
        "covered_by_others / population (0-1)",
    ),
    "covered_by_others_": (
        "Dân số do tỉnh khác phục vụ – {t}",
        "Served from outside – {t}",
        "people within reach of a {t} located outside the province",
    ),
    "coverage_": (
        "Dân số được phục vụ – {t}",
        "People served – {t}",
        "people within the primary break of a {t}",
    ),
}


def field_description_vi(column: str) -> str:
    """A column's description in Vietnamese (:data:`FIELD_DESC_VI`), else its Vietnamese alias."""
    if column in FIELD_DESC_VI:
        return FIELD_DESC_VI[column]
    return FIELD_TEXT[column][0] if column in FIELD_TEXT else column
