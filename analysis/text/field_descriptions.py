"""What each column holds, in Vietnamese: the descriptions of a Vietnamese GeoPackage
(``gpkg_data_columns``); the aliases and English descriptions are in :mod:`analysis.text.fields`."""

from __future__ import annotations

# column descriptions in Vietnamese (gpkg_data_columns of a Vietnamese run): column | description vi
_FIELD_DESC_VI = """
facility_id | mã định danh ổn định, duy nhất của cơ sở
name | tên cơ sở theo nguồn dữ liệu
type | loại cơ sở, ghi bằng mã: cảng biển “seaport”, cảng hàng không “airport”, khu công nghiệp “industrial_park”
status | tình trạng, ghi bằng mã: đang hoạt động “operating” hoặc quy hoạch “planned”
status_source | nguồn của tình trạng, ghi bằng mã: theo dữ liệu “source” hoặc giả định mặc định “assumed”
class | cấp, hạng để so sánh cơ sở cùng loại (ví dụ cảng hàng không quốc tế hay nội địa)
capacity | công suất theo nguồn dữ liệu, đơn vị ở trường đơn vị công suất
capacity_unit | đơn vị của công suất
prov34_code | mã tỉnh theo ranh giới 34 tỉnh, thành phố (2025)
prov34_name | tên tỉnh theo ranh giới 34 tỉnh, thành phố (2025)
prov63_code | mã tỉnh theo ranh giới 63 tỉnh, thành phố
prov63_name | tên tỉnh theo ranh giới 63 tỉnh, thành phố
prov63_codes | các mã tỉnh cũ (ranh giới 63 tỉnh) đã sáp nhập vào tỉnh này, ngăn cách bởi dấu |
prov_code | mã tỉnh theo ranh giới của lần chạy
prov_name | tên tỉnh theo ranh giới của lần chạy
region6_code | vùng kinh tế - xã hội (6 vùng)
prov_method | cách xác định tỉnh của cơ sở
edition | phiên bản ranh giới: 34 hoặc 63 tỉnh, thành phố
population | số người
primary_break_min | ngưỡng thời gian di chuyển chính của loại cơ sở, tính bằng phút
break_min | ngưỡng thời gian di chuyển, tính bằng phút
road_access | tiếp cận đường bộ, ghi bằng mã: mạng chính “network”, mạng riêng trên đảo “separate_network” hoặc không có “none”
access_dist_m | khoảng cách đường chim bay tới điểm bắt trên đường bộ, tính bằng mét
coverage | số người trong ngưỡng thời gian (theo nhu cầu)
unique_coverage | số người trong ngưỡng của cơ sở này và không trong ngưỡng của cơ sở cùng loại nào khác
unique_share | dân số chỉ cơ sở này phục vụ chia cho dân số phục vụ (0-1)
other_province_share | phần dân số phục vụ cũng nằm trong tầm của một cơ sở cùng loại ở tỉnh khác (0-1)
flag | 1 nếu cơ sở được đánh dấu có thể dư thừa (xem diễn giải)
flag_robustness | độ ổn định, ghi bằng mã: “robust” nếu kết luận giữ nguyên khi thay đổi giả định, “fragile” nếu không
evidence_vi | diễn giải của kết luận, tiếng Việt
evidence_en | diễn giải của kết luận, tiếng Anh
removal_penalty_min | thời gian di chuyển tăng thêm bình quân (theo nhu cầu) nếu bỏ cơ sở, tính bằng phút, trên những người vẫn còn tiếp cận
removal_lost | số người mất tiếp cận trong ngưỡng chính nếu bỏ cơ sở
best_alternative_id | cơ sở cùng loại gần nhất có thể thay thế
best_alternative_name | tên cơ sở thay thế tốt nhất
best_alternative_province | tỉnh của cơ sở thay thế tốt nhất
best_alternative_extra_min | số phút tăng thêm để tới cơ sở thay thế tốt nhất
sharing_key | phần dân số phục vụ thuộc từng tỉnh
demand_huff | số người có khả năng sử dụng cảng hàng không: dân số trong ngưỡng, chia giữa các cảng hàng không cạnh tranh theo mô hình Huff có suy giảm theo thời gian
demand_grdp | dân số nhân GRDP bình quân đầu người của tỉnh trong ngưỡng, chia giữa các cảng biển cạnh tranh theo mô hình Huff (tỷ đồng mỗi năm)
demand_workers | số người trong độ tuổi lao động trong tầm đi lại hằng ngày, chia giữa các khu công nghiệp cạnh tranh theo diện tích và trọng số suy giảm
demand_workers_per_ha | nguồn lao động chia sẻ chia cho diện tích khu công nghiệp
demand_e2sfca_workers_per_ha | số người trong độ tuổi lao động trong tầm (có trọng số suy giảm) trên mỗi ha, không chia sẻ (nghịch đảo tỷ số E2SFCA)
demand_area_assumed | khu công nghiệp không có diện tích; dùng diện tích trung vị của các khu làm cung
data_note | vấn đề dữ liệu đã biết của dòng này, tiếng Anh
data_note_vi | ghi chú dữ liệu, tiếng Việt
note_vi | nội dung sửa mạng đường, tiếng Việt
excluded_reason_vi | lý do điểm không thuộc cơ sở chính thức, tiếng Việt
repair_vi | nội dung đã sửa, tiếng Việt
reason_vi | lý do dòng không được dùng, tiếng Việt
source | tệp đầu vào hoặc nguồn của dòng
facility_a | cơ sở thứ nhất của cặp (mã A nhỏ hơn mã B)
facility_b | cơ sở thứ hai của cặp
name_a | tên của A
name_b | tên của B
overlap | số người trong ngưỡng của cả hai cơ sở
overlap_share | dân số được phục vụ chung chia cho dân số phục vụ nhỏ hơn của A và B (0-1)
prov_a | mã tỉnh của cơ sở A
prov_b | mã tỉnh của cơ sở B
province_a | mã tỉnh A
province_b | mã tỉnh B
served_by | số người ở tỉnh A trong ngưỡng của một cơ sở thuộc tỉnh B
duplicated | số người trong ngưỡng của một cơ sở thuộc tỉnh A và của một cơ sở thuộc tỉnh B
row | số thứ tự dòng dữ liệu (từ 1, không tính dòng tiêu đề) hoặc vị trí đối tượng
field | trường liên quan
reason | lý do dòng không được dùng, tiếng Anh
repair | nội dung đã sửa, tiếng Anh
site_id | mã của điểm (bến cảng, hoặc điểm chính thức của cơ sở)
unit_id | cơ sở chính thức mà điểm thuộc về; để trống nếu bị loại
kind | lớp dữ liệu nguồn của điểm
use | bến chuyên dùng hoặc bến phà, khi tên hay thẻ dữ liệu cho biết
member | “yes” nếu điểm thuộc cơ sở chính thức, “no” nếu bị loại (xem lý do loại)
excluded_reason | lý do điểm không thuộc cơ sở chính thức nào, tiếng Anh (trống: là thành viên)
members | tên các bến thành viên của cơ sở
n_members | số điểm thành viên, kể cả điểm chính thức
area_ha | diện tích ranh giới khu công nghiệp, tính bằng ha
source_row | dòng của tệp đầu vào mà cơ sở được lấy từ đó
doubtful | 1 nếu kiểm tra chất lượng dữ liệu phát hiện vấn đề (xem ghi chú dữ liệu)
doubt_score | số vấn đề dữ liệu phát hiện được
throughput | sản lượng thông qua đã công bố, đơn vị ở trường đơn vị sản lượng
throughput_unit | đơn vị của sản lượng thông qua
throughput_year | năm của sản lượng đã công bố
throughput_teu | sản lượng container, TEU mỗi năm
design_capacity | công suất thiết kế, đơn vị ở trường đơn vị công suất thiết kế
design_capacity_unit | đơn vị của công suất thiết kế
capacity_source | nơi công bố sản lượng hoặc công suất (địa chỉ trang)
overlap_flag | 1 nếu riêng quy tắc trùng lặp đánh dấu cơ sở (mô tả, không phải kết luận)
overlap_robustness | trùng lặp ổn định hay phụ thuộc giả định khi thay đổi giả định
verdict | 1 nếu kết luận chung xác định cơ sở là dư thừa
verdict_reason | mã của quy tắc quyết định kết luận
severity | điểm xếp hạng của phát hiện (càng cao càng dư thừa)
verdict_rank | hạng của phát hiện trong cùng loại (1: dư thừa nhất)
equivalent_group | các cơ sở phục vụ cùng những người (thay thế được cho nhau trong tập tối thiểu)
in_minimal_cover | 1 nếu cơ sở thuộc một tập nhỏ nhất vẫn giữ mọi người được phục vụ
input_rows | số dòng đọc từ các tệp đầu vào
loaded | số cơ sở đã nạp
excluded | số dòng để ngoài phạm vi (khác loại, ngoài vùng)
rejected | số dòng bị từ chối (xem bảng dòng bị loại)
merged_duplicates | số dòng trùng đã gộp
official_count | số cơ sở chính thức của loại
official_source | nguồn của số chính thức
official_source_vi | nguồn của số chính thức, tiếng Việt
member_sites | số điểm thành viên (bến cảng) của các cơ sở đã nạp
missing | số cơ sở chính thức chưa có điểm trên bản đồ
grouping | cách nhóm các tỉnh (phiên bản ranh giới, vùng kinh tế trọng điểm)
group_code | mã của nhóm
group_name | tên của nhóm
group_a | nhóm thứ nhất của cặp
group_b | nhóm thứ hai của cặp
n_operating | số cơ sở đang hoạt động trong nhóm
n_planned | số cơ sở quy hoạch trong nhóm
n_flagged | số cơ sở được kết luận dư thừa trong nhóm
people | số người
people_covered | số người trong ngưỡng chính của một cơ sở
covered_by_own | số người trong tầm của một cơ sở thuộc nhóm
covered_by_outside | số người trong tầm của một cơ sở ngoài nhóm
covered_only_by_outside | số người chỉ trong tầm của các cơ sở ngoài nhóm
duplicated_with_outside | số người trong tầm của một cơ sở trong nhóm và một cơ sở ngoài nhóm
min_cover_own | số cơ sở ít nhất của nhóm giữ được mọi người của nhóm được phục vụ
min_cover_given_outside | số cơ sở ít nhất của nhóm cần có khi các cơ sở ngoài nhóm cũng phục vụ
key_econ_region_vi | tên vùng kinh tế trọng điểm
repair_id | mã của lần sửa mạng đường
length_m | chiều dài đoạn nối, tính bằng mét
facilities_reconnected | các cơ sở được lần sửa này nối lại vào mạng chính
n_facilities_reconnected | số cơ sở được nối lại
people_reconnected | số người được nối lại vào mạng chính
component_km | chiều dài mảng đường rời được nối, tính bằng km
note | nội dung sửa mạng đường, tiếng Anh
p | số cơ sở giữ lại (trục hoành của đường cong)
covered | số người được p cơ sở tốt nhất phục vụ
share | tỷ lệ (0-1)
facility_ids | mã các cơ sở giữ lại, ngăn cách bởi dấu |
optimal | 1 nếu bộ giải đã chứng minh tập là tối ưu
upper_bound | cận trên của số người mà p cơ sở có thể phục vụ
n_facilities | số cơ sở của loại
covered_people | số người trong ngưỡng chính của ít nhất một cơ sở
min_cover_size | số cơ sở ít nhất giữ được mọi người đang được phục vụ
min_cover_ids | mã các cơ sở của một tập tối thiểu, ngăn cách bởi dấu |
mip_gap | sai số tương đối so với tối ưu của bộ giải
curve_points | số điểm của đường cong đã tính
curve_points_proved | số điểm đã chứng minh là tối ưu
p_90 | số cơ sở ít nhất giữ được 90 % số người được phục vụ
p_90_proved | 1 nếu số cơ sở giữ 90 % đã được chứng minh
p_95 | số cơ sở ít nhất giữ được 95 % số người được phục vụ
p_95_proved | 1 nếu số cơ sở giữ 95 % đã được chứng minh
p_99 | số cơ sở ít nhất giữ được 99 % số người được phục vụ
p_99_proved | 1 nếu số cơ sở giữ 99 % đã được chứng minh
cover_sentence_vi | tập tối thiểu diễn đạt thành câu, tiếng Việt
cover_sentence_en | tập tối thiểu diễn đạt thành câu, tiếng Anh
curve_sentence_vi | đường cong diễn đạt thành câu, tiếng Việt
curve_sentence_en | đường cong diễn đạt thành câu, tiếng Anh
lon | kinh độ, độ (WGS 84)
lat | vĩ độ, độ (WGS 84)
geometry | điểm, đường hoặc vùng của đối tượng
prov_dist_m | khoảng cách tới tỉnh được gán khi cơ sở nằm ngoài mọi ranh giới, tính bằng mét
"""
FIELD_DESC_VI: dict[str, str] = {
    k.strip(): v.strip()
    for k, v in (line.split(" | ", 1) for line in _FIELD_DESC_VI.strip().splitlines())
}

# the per-type province columns (``coverage_<type>``…), {t} = the type's label
PER_TYPE_DESC_VI = {
    "covered_by_others_share_": "dân số do {t} ở tỉnh khác phục vụ chia cho dân số của tỉnh (0-1)",
    "covered_by_others_": "số người trong tầm của một {t} nằm ngoài tỉnh",
    "coverage_": "số người trong ngưỡng chính của một {t}",
}
