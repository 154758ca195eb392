"""The report's sentences, headings and table headers, in Vietnamese and English (one place,
so the wording of both languages is reviewed side by side). ``{name}`` fields are filled by
:mod:`bienmoc.report.build`; every number in them comes from the analysis functions."""
from __future__ import annotations

__all__ = ["TEXT"]

TEXT = {
    "title": ("BÁO CÁO", "REPORT"),
    "subtitle": ("Kết quả công tác quản lý biên giới {area} {period}",
                 "Border management {area}: {period}"),
    "area_p": ("trên địa bàn tỉnh {p}", "in {p} province"),
    "area_b": ("tuyến biên giới {b}", "on the {b} border"),
    "area_n": ("trên đất liền", "on the land border"),
    "intro": ("Số liệu trong báo cáo được tổng hợp từ cơ sở dữ liệu quản lý biên giới (bienmoc), "
              "tính đến ngày {as_of}; kỳ báo cáo {period} (từ ngày {start} đến ngày {end}).",
              "Figures are drawn from the border-management database (bienmoc) as of {as_of}; "
              "the period is {period} ({start} to {end})."),
    "ph_basis": ("[Căn cứ văn bản yêu cầu báo cáo: số, ngày, cơ quan ban hành]",
                 "[Basis: the document requesting this report — number, date, issuer]"),
    "s_markers": ("I. TÌNH HÌNH ĐƯỜNG BIÊN GIỚI, MỐC QUỐC GIỚI",
                  "I. THE BOUNDARY LINE AND ITS MARKERS"),
    "section_sentence": ("{bname}, đoạn qua tỉnh {p}: hoàn thành xây dựng {built}/{total} cột "
                         "mốc, {sbuilt}/{stotal} cọc dấu ({sentence}).",
                         "{bname}, {p} section: {built}/{total} markers and {sbuilt}/{stotal} "
                         "reference stakes built ({sentence})."),
    "conditions": ("Mốc, cọc dấu có tình trạng cần xử lý: {n} ({detail}).",
                   "Markers and stakes whose condition needs action: {n} ({detail})."),
    "no_conditions": ("Không có mốc, cọc dấu nào có tình trạng cần xử lý.",
                      "No marker or stake has a condition needing action."),
    "cond_table": ("Mốc, cọc dấu cần xử lý", "Markers and stakes needing action"),
    "demarcation": ("Phân giới cắm mốc: đã phân giới {done} km, chưa phân giới {todo} km "
                    "(tổng {total} km).",
                    "Demarcation: {done} km demarcated, {todo} km not yet demarcated "
                    "(of {total} km)."),
    "map": ("Bản đồ khu vực: cột mốc theo tình trạng, công trình, vụ việc trong kỳ",
            "Map of the area: markers by status, works, incidents of the period"),
    "s_inspections": ("II. CÔNG TÁC KIỂM TRA, BẢO VỆ MỐC", "II. INSPECTIONS OF MARKERS"),
    "inspections": ("Trong kỳ đã kiểm tra {n} lượt mốc, cọc dấu ({u} lượt đơn phương, {j} lượt "
                    "song phương). Đến ngày {as_of} có {overdue} mốc quá hạn kiểm tra và "
                    "{never} mốc chưa được kiểm tra lần nào.",
                    "{n} marker inspections were made in the period ({u} unilateral, {j} "
                    "joint). As of {as_of}: overdue for inspection {overdue}, never inspected "
                    "{never}."),
    "patrols": ("Trong kỳ các lực lượng đã tổ chức {n} lượt tuần tra biên giới ({u} lượt đơn "
                "phương, {j} lượt song phương).",
                "{n} border patrols were made in the period ({u} unilateral, {j} joint)."),
    "no_patrols": ("Trong kỳ chưa ghi nhận lượt tuần tra nào trong cơ sở dữ liệu.",
                   "No patrol is recorded in the database for the period."),
    "patrol_cover": ("{bname}: tuần tra đã đi qua {covered} km trên {total} km đường biên "
                     "({pct} %); {unvisited}/{sections} đoạn giữa hai mốc chưa được tuần tra "
                     "trong kỳ.",
                     "{bname}: patrols covered {covered} km of {total} km of the line "
                     "({pct} %); {unvisited} of {sections} marker sections were not patrolled "
                     "in the period."),
    "due_table": ("Mốc đến hạn kiểm tra (quá hạn, chưa kiểm tra)",
                  "Markers due for inspection (overdue, never inspected)"),
    "due_more": ("(và {n} mốc khác, không liệt kê)", "(and {n} more, not listed)"),
    "s_works": ("III. CÔNG TRÌNH XÂY DỰNG, TU BỔ MỐC VÀ CÔNG TRÌNH BIÊN GIỚI",
                "III. WORKS ON MARKERS AND AT THE BORDER"),
    "works": ("Tổng số {total} công trình: chưa triển khai {ns}, đang thực hiện {ip}, chậm tiến "
              "độ {st}, đã hoàn thành {co}; khối lượng hoàn thành bình quân {pct} %; kinh phí "
              "kế hoạch {planned} đồng, đã giải ngân {disb} đồng ({dpct} %).",
              "{total} works: {ns} not started, {ip} in progress, {st} stalled, {co} completed; "
              "{pct} % complete on average; budget {planned} VND planned, {disb} VND disbursed "
              "({dpct} %)."),
    "no_works": ("Trên địa bàn không có công trình nào được theo dõi.",
                 "No works are recorded in the area."),
    "works_table": ("Công trình theo loại và tình trạng", "Works by kind and status"),
    "stalled": ("Công trình chậm tiến độ: {n} ({list}).", "Stalled works: {n} ({list})."),
    "stalled_table": ("Công trình chậm tiến độ", "Stalled works"),
    "completed": ("Hoàn thành trong kỳ: {n} công trình{list}.",
                  "Completed in the period: {n} works{list}."),
    "s_incidents": ("IV. TÌNH HÌNH VỤ VIỆC TRÊN TUYẾN BIÊN GIỚI", "IV. INCIDENTS ON THE BORDER"),
    "incidents": ("Trong kỳ đã phát hiện, xử lý {n} vụ việc trên tuyến biên giới (đã giải quyết "
                  "xong {h} vụ), trong đó {v} vụ vi phạm Hiệp định về Quy chế quản lý biên "
                  "giới (đã giải quyết xong {vh} vụ).",
                  "{n} incidents on the border were detected and handled in the period ({h} "
                  "resolved), of which {v} violations of the border-management agreement ({vh} "
                  "resolved)."),
    "compare": ("So với kỳ trước (từ {ps} đến {pe}: {p} vụ) {trend}; cùng kỳ năm trước (từ {ys} "
                "đến {ye}): {y} vụ.",
                "Compared with the previous period ({ps} to {pe}: {p}) {trend}; the same period "
                "a year before ({ys} to {ye}): {y}."),
    "up": ("tăng {d} vụ", "up {d}"), "down": ("giảm {d} vụ", "down {d}"),
    "same": ("không thay đổi", "unchanged"),
    "kind_table": ("Vụ việc trong kỳ theo loại và tình trạng", "Incidents of the period by "
                   "kind and status"),
    "top": ("Các khu vực có nhiều vụ việc: {list}.", "Areas with most incidents: {list}."),
    "top_item": ("khu vực mốc {a} – {b} ({n} vụ)", "marker area {a} – {b} ({n})"),
    "open": ("Tổng số vụ việc chưa giải quyết xong (mọi thời điểm): {n} vụ.",
             "Incidents not yet resolved (any date): {n}."),
    "chart": ("Số vụ việc theo tháng trong kỳ", "Incidents per month in the period"),
    "s_gates": ("V. CỬA KHẨU, LỐI MỞ", "V. BORDER GATES AND OPENINGS"),
    "gates": ("Trên địa bàn có {n} cửa khẩu, lối mở: {detail}.",
              "The area has {n} gates and openings: {detail}."),
    "no_gates": ("Trên địa bàn không có cửa khẩu, lối mở.", "The area has no border gate."),
    "gates_table": ("Cửa khẩu, lối mở", "Border gates and openings"),
    "gate_changes": ("Thay đổi trong kỳ: {list}.", "Changes in the period: {list}."),
    "no_gate_changes": ("Trong kỳ không có thay đổi về hoạt động của các cửa khẩu.",
                        "No gate changed status in the period."),
    "s_assess": ("VI. ĐÁNH GIÁ CHUNG", "VI. ASSESSMENT"),
    "ph_meetings": ("[Hội đàm, giao ban biên giới với phía bạn trong kỳ: thời gian, nội dung, "
                    "kết quả]", "[Border meetings with the neighbouring side: dates, topics, "
                    "outcomes]"),
    "ph_notes": ("[Công hàm, giao thiệp về các vụ việc tồn đọng]",
                 "[Diplomatic notes about unresolved incidents]"),
    "ph_difficulties": ("[Khó khăn, vướng mắc, nguyên nhân]",
                        "[Difficulties and their causes]"),
    "s_next": ("VII. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI VÀ KIẾN NGHỊ",
               "VII. PLANS FOR THE NEXT PERIOD AND PROPOSALS"),
    "ph_plans": ("[Nhiệm vụ trọng tâm kỳ tới]", "[Priorities for the next period]"),
    "ph_proposals": ("[Đề xuất, kiến nghị]", "[Proposals]"),
    "body_p": ("UBND TỈNH {P}\nSỞ NGOẠI VỤ", "{P} PROVINCIAL PEOPLE'S COMMITTEE\n"
               "DEPARTMENT OF FOREIGN AFFAIRS"),
    "body_n": ("BỘ NGOẠI GIAO\nỦY BAN BIÊN GIỚI QUỐC GIA", "MINISTRY OF FOREIGN AFFAIRS\n"
               "NATIONAL BOUNDARY COMMISSION"),
    "number_p": ("Số:       /BC-SNgV", "No.:       /BC-SNgV"),
    "number_n": ("Số:       /BC-UBBG", "No.:       /BC-UBBG"),
    "recipients": (["Nơi nhận:", "- Như trên;", "- Lưu: VT."], ["Recipients:", "- As above;",
                                                                "- Archive."]),
    "signer": ("GIÁM ĐỐC", "DIRECTOR"),
    "chairman": ("CHỦ NHIỆM", "CHAIRMAN"),
    "national": ("Hà Nội", "Hà Nội"),
    # table headers
    "h_border": ("Tuyến", "Border"), "h_number": ("Số hiệu mốc", "Marker"),
    "h_kind": ("Loại", "Kind"), "h_condition": ("Tình trạng", "Condition"),
    "h_last": ("Kiểm tra gần nhất", "Last inspected"),
    "h_due": ("Hạn kiểm tra", "Due"), "h_overdue": ("Số ngày quá hạn", "Days overdue"),
    "h_total": ("Tổng số", "Total"), "h_pct": ("Hoàn thành (%)", "Complete (%)"),
    "h_planned": ("Kinh phí kế hoạch (đồng)", "Budget planned (VND)"),
    "h_disb": ("Đã giải ngân (đồng)", "Disbursed (VND)"),
    "h_section": ("Mốc / đoạn", "Marker / section"), "h_title": ("Hạng mục", "Work"),
    "h_idle": ("Số ngày không có tiến độ", "Days idle"),
    "h_name": ("Cửa khẩu", "Gate"), "h_pair": ("Cặp với", "Paired with"),
    "h_status": ("Tình trạng", "Status"), "h_date": ("Từ ngày", "Since"),
    "h_kind_inc": ("Loại vụ việc", "Kind"),
}
