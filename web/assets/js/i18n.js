// i18n.js: Vietnamese first, English by a toggle remembered in localStorage.
// Static text lives in the HTML in Vietnamese with data-i18n="key" (and
// data-i18n-placeholder / -title / -aria-label); t(key) serves the strings
// built by scripts. The English table only needs the keys that differ.

const KEY = 'helpmap.lang';

const vi = {
  'cat.food': 'Lương thực', 'cat.water': 'Nước uống', 'cat.medical': 'Y tế',
  'cat.cash': 'Tiền mặt', 'cat.shelter': 'Chỗ ở', 'cat.rescue': 'Cứu hộ khẩn cấp',
  'cat.other': 'Khác',
  'st.new': 'Chờ tiếp nhận', 'st.assigned': 'Đã có tổ nhận', 'st.in_progress': 'Đang hỗ trợ',
  'st.resolved': 'Đã giải quyết', 'st.cancelled': 'Đã hủy', 'st.duplicate': 'Trùng lặp',
  'vul.elderly': 'Người cao tuổi', 'vul.child': 'Trẻ em', 'vul.pregnant': 'Phụ nữ mang thai',
  'vul.disabled': 'Người khuyết tật', 'vul.sick': 'Người bệnh',
  'prio.urgent': 'Khẩn cấp', 'prio.normal': 'Thường',
  'src.web': 'Web', 'src.hotline': 'Tổng đài', 'src.import': 'Nhập',
  'prec.gps': 'GPS', 'prec.pin': 'Ghim', 'prec.address': 'Địa chỉ', 'prec.place': 'Địa danh', 'prec.link': 'Liên kết bản đồ',
  'kind.ward': 'Xã', 'kind.former_ward': 'Xã cũ', 'kind.hamlet': 'Ấp', 'kind.village': 'Xóm, làng',
  'kind.section': 'Ấp', 'kind.street': 'Đường', 'kind.market': 'Chợ', 'kind.school': 'Trường',
  'kind.canal': 'Kênh', 'kind.stream': 'Rạch, suối', 'kind.bridge': 'Cầu', 'kind.admin': 'Xã (cũ)',
  'kind.pagoda': 'Chùa', 'kind.town': 'Thị trấn', 'kind.farm': 'Nông trại', 'kind.place': 'Địa danh',
  'kind.medical': 'Y tế', 'kind.shelter': 'Nơi trú ẩn',
  'places.none': 'Không tìm thấy địa danh nào', 'places.chosen': 'Đã chọn: {name}',
  'approx': 'vị trí gần đúng', 'approx.long': 'Vị trí gần đúng: ghim đặt ở giữa {place}, không phải nhà người cần hỗ trợ.',
  'place.hamlet': 'ấp {name}', 'place.former': '{name} cũ', 'place.hint': 'Gợi ý: {hint}',
  'rk.shelter': 'Nơi trú ẩn', 'rk.food': 'Phát thức ăn', 'rk.water': 'Nước sạch', 'rk.medical': 'Trạm y tế',
  'rk.charging': 'Sạc điện thoại', 'rk.boat': 'Ghe, xuồng cứu hộ', 'rk.other': 'Điểm hỗ trợ khác',
  'rs.open': 'Đang mở', 'rs.full': 'Đã đầy', 'rs.closed': 'Đã đóng',
  'pt.hours': 'Giờ mở: {h}', 'pt.capacity': 'Sức chứa: {n}', 'pt.none': 'Chưa có điểm hỗ trợ nào đang mở gần đây.',
  'pt.title': 'Điểm hỗ trợ gần nhất', 'h.safe': 'Đã báo an toàn', 'safe.notice': '{code}: người dân báo đã an toàn, không cần đến nữa.',
  'f.location_text': 'Không đọc được vị trí đã dán.', 'f.reporter.phone': 'Số điện thoại của người báo giúp không hợp lệ (ví dụ 0909 123 456).',
  'f.reporter.name': 'Tên người báo giúp quá dài (tối đa 100 ký tự).', 'f.reporter': 'Thông tin người báo giúp chưa hợp lệ.',
  'k.reporter': 'Người báo giúp', 'k.location_text': 'Vị trí đã dán',
  'actor.resident': 'Người gửi', 'actor.system': 'Hệ thống',
  'people': '{n} người', 'ago.now': 'vừa xong', 'ago.min': '{n} phút trước',
  'ago.h': '{h} giờ {m} phút trước', 'ago.d': '{n} ngày trước',
  'age.min': '{n} phút', 'age.h': '{h} giờ {m} phút', 'age.d': '{n} ngày',
  'age.s.now': 'vừa đến', 'age.s.min': '{n} phút', 'age.s.h': '{h} giờ {m}', 'age.s.d': '{n} ngày',
  'dist.m': '{n} m', 'dist.km': '{n} km',
  'err.network': 'Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.',
  'err.server': 'Máy chủ đang bận, vui lòng thử lại sau ít phút.',
  'err.rate': 'Hệ thống đang nhận rất nhiều yêu cầu cùng lúc. Vui lòng thử lại sau {n} giây, hoặc gọi Tổng đài 1022.',
  'err.unauthorized': 'Mã đăng nhập không đúng hoặc đã bị thu hồi.',
  'err.forbidden': 'Tài khoản này không có quyền làm việc này.',
  'err.not_found': 'Không tìm thấy yêu cầu.',
  'err.invalid_transition': 'Yêu cầu đã đổi trạng thái, không thể làm thao tác này nữa.',
  'err.already_claimed': 'Tổ khác đã nhận yêu cầu này.',
  'err.claim_limit': 'Tổ đã nhận tối đa số yêu cầu cùng lúc. Hoàn thành bớt rồi nhận thêm.',
  'err.too_large': 'Nội dung quá dài.',
  'err.unavailable': 'Hệ thống tạm thời không nhận thêm, thử lại sau.',
  'err.outside': 'Vị trí này nằm ngoài khu vực hỗ trợ. Kéo ghim về đúng nơi bạn ở.',
  'err.outside_area_pick': 'Nơi này nằm ngoài khu vực hỗ trợ.',
  'err.receipt_limit': 'Yêu cầu này đã nhận đủ số lần xác nhận. Hãy gọi Tổng đài 1022.',
  'f.received': 'Hãy chọn: đã nhận đủ, một phần, hay không nhận được gì.',
  'f.amount_vnd': 'Số tiền chỉ ghi số (ví dụ 800000); không nhận được gì thì để trống.',
  'f.lat': 'Hãy chọn vị trí trên bản đồ.', 'f.lon': 'Hãy chọn vị trí trên bản đồ.',
  'f.location': 'Hãy chọn vị trí: bấm vào bản đồ, kéo ghim, hoặc dùng GPS.',
  'f.category': 'Hãy chọn loại hỗ trợ cần.',
  'f.people': 'Số người từ 1 đến 500.',
  'f.vulnerable': 'Lựa chọn không hợp lệ.',
  'f.phone': 'Số điện thoại không hợp lệ (ví dụ 0909 123 456).',
  'f.phone_required': 'Hãy nhập số điện thoại để tổ hỗ trợ gọi lại.',
  'f.name': 'Tên quá dài (tối đa 100 ký tự).',
  'f.note': 'Ghi chú quá dài (tối đa 500 ký tự).',
  'f.address': 'Địa chỉ quá dài (tối đa 200 ký tự).',
  'f.address_required': 'Hãy nhập địa chỉ (số nhà, đường, ấp).',
  'f.ward_code': 'Hãy chọn xã.', 'f.hamlet_code': 'Ấp không hợp lệ.',
  'f.location_precision': 'Vị trí không hợp lệ.',
  'f.invalid': 'Thông tin chưa hợp lệ.',
  'map.here': 'Vị trí: {lat}, {lon}', 'map.inside': 'Thuộc {name}',
  'map.outside': 'Ngoài khu vực hỗ trợ', 'map.drag': 'Bấm vào bản đồ hoặc kéo ghim tới nơi bạn ở',
  'map.gps_ok': 'Đã lấy vị trí GPS (±{n} m)', 'map.gps_wait': 'Đang lấy vị trí GPS…',
  'map.gps_no': 'Không lấy được GPS. Bấm vào bản đồ hoặc kéo ghim.',
  'map.loading': 'Đang tải bản đồ…', 'map.failed': 'Không tải được bản đồ, hãy chọn xã và ấp.',
  'send': 'Gửi yêu cầu', 'sending': 'Đang gửi…',
  'dup.title': 'Yêu cầu này đã được ghi nhận trước đó',
  'hamlet.none': '— Không rõ ấp —', 'ward.pick': '— Chọn xã —',
  'sign.checking': 'Đang kiểm tra…', 'sign.bad': 'Mã đăng nhập không đúng.',
  'live.on': 'Trực tuyến', 'live.off': 'Mất kết nối, đang thử lại…', 'live.connecting': 'Đang kết nối…',
  'none': 'Không có', 'loading': 'Đang tải…', 'saved': 'Đã lưu', 'done': 'Xong',
  'track.missing': 'Liên kết theo dõi thiếu mã bí mật. Hãy mở đúng liên kết nhận được khi gửi.',
  'track.cancelled_ok': 'Đã hủy yêu cầu.',
  'confirm.cancel': 'Bấm lần nữa để xác nhận hủy',
  'team.claim': 'Nhận hỗ trợ', 'team.start': 'Bắt đầu đi', 'team.resolve': 'Đã giải quyết xong',
  'team.release': 'Trả lại', 'team.other': 'Tổ khác đang xử lý', 'team.mine': 'Tổ mình đang giữ',
  'team.alert': 'Có yêu cầu mới gần tổ: {code}', 'team.none': 'Không có yêu cầu nào trong bán kính này.',
  'team.pos_sent': 'Đã báo vị trí lúc {t}', 'team.pos_manual': 'Không có GPS: kéo điểm xanh tới vị trí của tổ.',
  'team.note_ph': 'Ghi chú (đã phát gì, còn thiếu gì)…',
  'team.contact': 'Liên hệ', 'team.call': 'Gọi', 'team.sms': 'Nhắn tin', 'team.directions': 'Chỉ đường',
  'op.saved': 'Đã lưu yêu cầu {code}', 'op.lookup_none': 'Chưa có yêu cầu nào của số này.',
  'op.lookup_found': '{n} yêu cầu của số này', 'op.verify': 'Đã gọi lại, xác minh',
  'op.verified': 'Đã xác minh', 'op.dup_hint': 'Có thể trùng:', 'op.no_place': 'Hãy chọn xã/ấp hoặc bấm vào bản đồ.',
  'op.place_map': 'Vị trí trên bản đồ: {lat}, {lon}', 'op.dup_saved': 'Trùng với yêu cầu đang mở {code}: đã ghi thêm vào lịch sử.',
  'cmd.assign': 'Giao', 'cmd.assigned': 'Đã giao cho {team}', 'cmd.no_responders': 'Không có tổ rảnh gần đây (cần vị trí trong 30 phút).',
  'cmd.dup_ok': 'Đã đánh dấu trùng với {code}', 'cmd.reopen': 'Mở lại', 'cmd.cancel': 'Hủy yêu cầu',
  'cmd.area_saved': 'Đã lưu ấp {code}', 'cmd.area_clipped': 'Ranh giới đã được cắt theo xã.',
  'cmd.area_repaired': 'Ranh giới đã được sửa cho hợp lệ.',
  'cmd.overlap': 'Chồng lấn với ấp khác: {names}', 'cmd.draw_hint': 'Bấm từng đỉnh trên bản đồ, bấm đúp để kết thúc.',
  'cmd.upload_done': 'Đã gửi {ok}/{n} ấp.', 'cmd.export_fail': 'Không xuất được dữ liệu.',
  'cmd.flag_old': 'quá 2 giờ', 'cmd.new_arrival': 'Mới',
  'lvl.ward': 'Xã (2025)', 'lvl.former_ward': 'Xã cũ (trước 2025)', 'lvl.hamlet': 'Ấp',
};

const en = {
  'cat.food': 'Food', 'cat.water': 'Water', 'cat.medical': 'Medical', 'cat.cash': 'Cash',
  'cat.shelter': 'Shelter', 'cat.rescue': 'Emergency rescue', 'cat.other': 'Other',
  'st.new': 'Waiting', 'st.assigned': 'Team assigned', 'st.in_progress': 'Help on the way',
  'st.resolved': 'Resolved', 'st.cancelled': 'Cancelled', 'st.duplicate': 'Duplicate',
  'vul.elderly': 'Elderly', 'vul.child': 'Child', 'vul.pregnant': 'Pregnant',
  'vul.disabled': 'Disabled', 'vul.sick': 'Sick',
  'prio.urgent': 'Urgent', 'prio.normal': 'Normal',
  'src.web': 'Web', 'src.hotline': 'Hotline', 'src.import': 'Import',
  'prec.gps': 'GPS', 'prec.pin': 'Pin', 'prec.address': 'Address', 'prec.place': 'Place name', 'prec.link': 'Map link',
  'approx': 'approximate location', 'approx.long': 'Approximate location: the pin stands in the middle of {place}, not at the home of the person in need.',
  'place.hamlet': 'hamlet {name}', 'place.former': 'former {name}', 'place.hint': 'Hint: {hint}',
  'rk.shelter': 'Shelter', 'rk.food': 'Food distribution', 'rk.water': 'Clean water', 'rk.medical': 'Medical post',
  'rk.charging': 'Phone charging', 'rk.boat': 'Rescue boat', 'rk.other': 'Other relief point',
  'rs.open': 'Open', 'rs.full': 'Full', 'rs.closed': 'Closed',
  'pt.hours': 'Hours: {h}', 'pt.capacity': 'Capacity: {n}', 'pt.none': 'No open relief point nearby yet.',
  'pt.title': 'Nearest relief points', 'h.safe': 'Marked safe', 'safe.notice': '{code}: the resident says they are safe; no need to go.',
  'f.location_text': 'The pasted location could not be read.', 'f.reporter.phone': "Invalid phone number of the person reporting (e.g. 0909 123 456).",
  'f.reporter.name': 'Name of the person reporting too long (100 characters at most).', 'f.reporter': 'Check the details of the person reporting.',
  'k.reporter': 'Reported by', 'k.location_text': 'Pasted location',
  'actor.resident': 'Requester', 'actor.system': 'System',
  'people': '{n} people', 'ago.now': 'just now', 'ago.min': '{n} min ago',
  'ago.h': '{h} h {m} min ago', 'ago.d': '{n} days ago',
  'age.min': '{n} min', 'age.h': '{h} h {m} min', 'age.d': '{n} days',
  'age.s.now': 'just in', 'age.s.min': '{n} min', 'age.s.h': '{h} h {m}', 'age.s.d': '{n} days',
  'err.network': 'Cannot reach the server. Check your connection and try again.',
  'prec.place': 'Place', 'kind.ward': 'Commune', 'kind.former_ward': 'Former commune',
  'kind.hamlet': 'Hamlet', 'kind.village': 'Village', 'kind.section': 'Hamlet', 'kind.street': 'Street',
  'kind.market': 'Market', 'kind.school': 'School', 'kind.canal': 'Canal', 'kind.stream': 'Stream',
  'kind.bridge': 'Bridge', 'kind.admin': 'Former commune', 'kind.pagoda': 'Pagoda', 'kind.town': 'Town',
  'kind.farm': 'Farm', 'kind.place': 'Place', 'kind.medical': 'Medical post', 'kind.shelter': 'Shelter',
  'places.none': 'No place found', 'places.chosen': 'Chosen: {name}',
  'err.server': 'The server is busy, please try again in a few minutes.',
  'err.rate': 'The system is receiving a great many requests right now. Please try again in {n} seconds, or call the 1022 hotline.',
  'err.unauthorized': 'Wrong or revoked sign-in token.',
  'err.forbidden': 'This account may not do that.',
  'err.not_found': 'Request not found.',
  'err.invalid_transition': 'The request changed status; this action is no longer possible.',
  'err.already_claimed': 'Another team already claimed this request.',
  'err.claim_limit': 'Your team holds the maximum number of open claims. Finish some first.',
  'err.too_large': 'Too much text.',
  'err.unavailable': 'The system cannot take more right now, try again later.',
  'err.outside': 'This place is outside the service area. Move the pin to where you are.',
  'err.outside_area_pick': 'This place is outside the service area.',
  'err.receipt_limit': 'This request has had all the receipts it takes. Call the 1022 hotline.',
  'f.received': 'Choose: all of it, part of it, or nothing arrived.',
  'f.amount_vnd': 'Write the amount as digits (e.g. 800000); leave it empty if nothing arrived.',
  'f.lat': 'Choose your position on the map.', 'f.lon': 'Choose your position on the map.',
  'f.location': 'Choose your position: tap the map, drag the pin or use GPS.',
  'f.category': 'Choose what you need.',
  'f.people': 'People: from 1 to 500.',
  'f.vulnerable': 'Invalid choice.',
  'f.phone': 'Invalid phone number (e.g. 0909 123 456).',
  'f.phone_required': 'Enter a phone number so the team can call you back.',
  'f.name': 'Name too long (100 characters at most).',
  'f.note': 'Note too long (500 characters at most).',
  'f.address': 'Address too long (200 characters at most).',
  'f.address_required': 'Enter an address (house number, street, hamlet).',
  'f.ward_code': 'Choose a commune.', 'f.hamlet_code': 'Invalid hamlet.',
  'f.location_precision': 'Invalid position.',
  'f.invalid': 'Please check this field.',
  'map.here': 'Position: {lat}, {lon}', 'map.inside': 'In {name}',
  'map.outside': 'Outside the service area', 'map.drag': 'Tap the map or drag the pin to where you are',
  'map.gps_ok': 'GPS position found (±{n} m)', 'map.gps_wait': 'Getting GPS position…',
  'map.gps_no': 'No GPS. Tap the map or drag the pin.',
  'map.loading': 'Loading map…', 'map.failed': 'The map could not load: choose commune and hamlet.',
  'send': 'Send request', 'sending': 'Sending…',
  'dup.title': 'This request was already received',
  'hamlet.none': '— Hamlet unknown —', 'ward.pick': '— Choose commune —',
  'sign.checking': 'Checking…', 'sign.bad': 'Wrong sign-in token.',
  'live.on': 'Live', 'live.off': 'Disconnected, retrying…', 'live.connecting': 'Connecting…',
  'none': 'None', 'loading': 'Loading…', 'saved': 'Saved', 'done': 'Done',
  'track.missing': 'The tracking link has no secret token. Open the exact link you got when sending.',
  'track.cancelled_ok': 'Request cancelled.',
  'confirm.cancel': 'Press again to confirm cancelling',
  'team.claim': 'Claim', 'team.start': 'Start', 'team.resolve': 'Resolved',
  'team.release': 'Release', 'team.other': 'Another team is on it', 'team.mine': 'Held by my team',
  'team.alert': 'New request near your team: {code}', 'team.none': 'No requests within this radius.',
  'team.pos_sent': 'Position reported at {t}', 'team.pos_manual': 'No GPS: drag the green dot to your position.',
  'team.note_ph': 'Note (what was delivered, what is missing)…',
  'team.contact': 'Contact', 'team.call': 'Call', 'team.sms': 'SMS', 'team.directions': 'Directions',
  'op.saved': 'Request {code} saved', 'op.lookup_none': 'No requests from this number yet.',
  'op.lookup_found': '{n} requests from this number', 'op.verify': 'Called back: verified',
  'op.verified': 'Verified', 'op.dup_hint': 'Possible duplicates:', 'op.no_place': 'Choose commune/hamlet or click the map.',
  'op.place_map': 'Map position: {lat}, {lon}', 'op.dup_saved': 'Duplicate of open request {code}: added to its history.',
  'cmd.assign': 'Assign', 'cmd.assigned': 'Assigned to {team}', 'cmd.no_responders': 'No available team nearby (needs a position within 30 min).',
  'cmd.dup_ok': 'Marked as duplicate of {code}', 'cmd.reopen': 'Reopen', 'cmd.cancel': 'Cancel request',
  'cmd.area_saved': 'Hamlet {code} saved', 'cmd.area_clipped': 'The boundary was clipped to the commune.',
  'cmd.area_repaired': 'The boundary was repaired.',
  'cmd.overlap': 'Overlaps other hamlets: {names}', 'cmd.draw_hint': 'Click each corner on the map, double-click to finish.',
  'cmd.upload_done': 'Sent {ok}/{n} hamlets.', 'cmd.export_fail': 'Export failed.',
  'cmd.flag_old': 'over 2 h', 'cmd.new_arrival': 'New',
  'lvl.ward': 'Commune (2025)', 'lvl.former_ward': 'Former commune (pre-2025)', 'lvl.hamlet': 'Hamlet',
};

const tables = { vi, en };
let lang = 'vi';
try {
  const saved = localStorage.getItem(KEY);
  if (saved === 'en' || saved === 'vi') lang = saved;
} catch { /* storage blocked: stay Vietnamese */ }

const listeners = new Set();
const originals = new WeakMap(); // element -> {text, placeholder, ...} in Vietnamese

export function getLang() { return lang; }

export function t(key, vars) {
  let s = tables[lang][key] ?? vi[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// English strings for static HTML live in the page's own dictionary, passed
// once by each page through addStrings({en: {...}}).
export function addStrings(more) {
  for (const l of Object.keys(more)) Object.assign(tables[l] ||= {}, more[l]);
}

const ATTRS = [['i18nPlaceholder', 'placeholder'], ['i18nTitle', 'title'], ['i18nAriaLabel', 'aria-label']];

export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n], [data-i18n-placeholder], [data-i18n-title], [data-i18n-aria-label]')) {
    let orig = originals.get(el);
    if (!orig) {
      orig = { text: el.dataset.i18n ? el.textContent : null };
      for (const [, attr] of ATTRS) orig[attr] = el.getAttribute(attr);
      originals.set(el, orig);
    }
    if (el.dataset.i18n) {
      const s = lang === 'vi' ? orig.text : tables[lang][el.dataset.i18n];
      if (s != null) el.textContent = s;
    }
    for (const [ds, attr] of ATTRS) {
      const key = el.dataset[ds];
      if (!key) continue;
      const s = lang === 'vi' ? orig[attr] : tables[lang][key];
      if (s != null) el.setAttribute(attr, s);
    }
  }
  for (const b of document.querySelectorAll('.lang-toggle')) {
    b.textContent = lang === 'vi' ? 'EN' : 'VI';
    b.setAttribute('aria-label', lang === 'vi' ? 'English' : 'Tiếng Việt');
    b.setAttribute('lang', lang === 'vi' ? 'en' : 'vi');
  }
}

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'vi';
  try { localStorage.setItem(KEY, lang); } catch { /* ignore */ }
  applyStatic();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) { listeners.add(fn); }

// Wire every .lang-toggle button of the page and translate the static text.
export function initI18n(pageStrings) {
  if (pageStrings) addStrings(pageStrings);
  for (const b of document.querySelectorAll('.lang-toggle')) {
    b.hidden = false;
    b.addEventListener('click', () => setLang(lang === 'vi' ? 'en' : 'vi'));
  }
  applyStatic();
}

// Formatting helpers that follow the language.
export function fmtPeople(n) { return t('people', { n }); }

export function fmtDistance(m) {
  if (m == null || !isFinite(m)) return '';
  if (m < 1000) return t('dist.m', { n: Math.round(m) });
  const km = (m / 1000).toFixed(m < 10000 ? 1 : 0);
  return t('dist.km', { n: lang === 'vi' ? km.replace('.', ',') : km });
}

export function fmtAge(ms, suffix = true) {
  const min = Math.max(0, Math.floor(ms / 60000));
  const p = suffix ? 'ago' : 'age';
  if (suffix && min < 1) return t('ago.now');
  if (min < 60) return t(`${p}.min`, { n: min });
  if (min < 48 * 60) return t(`${p}.h`, { h: Math.floor(min / 60), m: min % 60 });
  return t(`${p}.d`, { n: Math.floor(min / 1440) });
}

// Short waiting time for a wall row: "45 phút", "2 giờ 05", "3 ngày".
export function fmtAgeShort(ms) {
  const min = Math.max(0, Math.floor(ms / 60000));
  if (min < 1) return t('age.s.now');
  if (min < 60) return t('age.s.min', { n: min });
  if (min < 48 * 60) return t('age.s.h', { h: Math.floor(min / 60), m: String(min % 60).padStart(2, '0') });
  return t('age.s.d', { n: Math.floor(min / 1440) });
}

// Clock time of the day, "14:05".
export function fmtClock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return d.toLocaleTimeString(lang === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
}

export function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit',
  });
}
