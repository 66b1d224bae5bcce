// flood.js: what the 2024–2025 flood maps taught, shared by the pages: a pasted
// map link or coordinates read by the server (GET /api/v1/geo/parse) with its
// refusals translated (the server's English sentences are fixed, matched
// exactly), and the nearest relief points (GET /api/v1/points/nearest) as a list
// with distance, hours and status.
import { t, getLang, fmtDistance } from './i18n.js';
import { api, ApiError, errorText } from './api.js';
import { h, icon, RELIEF_COLOR } from './util.js';

// geodata/locparse.c why_msg[], in Vietnamese.
const LOC_VI = {
  'no coordinates found; paste a map link, or latitude and longitude such as 10.9935, 106.4921':
    'Không thấy toạ độ. Hãy dán liên kết bản đồ, hoặc vĩ độ và kinh độ, ví dụ 10.9935, 106.4921.',
  'paste a map link or coordinates, such as 10.9935, 106.4921':
    'Hãy dán liên kết bản đồ hoặc toạ độ, ví dụ 10.9935, 106.4921.',
  'the text is longer than 2048 bytes; paste only the map link or the coordinates':
    'Nội dung quá dài. Chỉ dán liên kết bản đồ hoặc toạ độ.',
  'this is a short link; open it and copy the long link from the address bar, or send the coordinates':
    'Đây là liên kết rút gọn. Hãy mở liên kết, chép liên kết đầy đủ trên thanh địa chỉ, hoặc gửi toạ độ.',
  'links from this site are not understood; send a Google Maps, OpenStreetMap or Apple Maps link, or the coordinates':
    'Không đọc được liên kết của trang này. Hãy gửi liên kết Google Maps, OpenStreetMap, Apple Maps, hoặc toạ độ.',
  'this link holds no coordinates; drop a pin on the place and share that link, or send the coordinates':
    'Liên kết này không có toạ độ. Hãy thả ghim đúng chỗ rồi chia sẻ liên kết đó, hoặc gửi toạ độ.',
  'latitude must be between -90 and 90': 'Vĩ độ phải từ -90 đến 90.',
  'longitude must be between -180 and 180': 'Kinh độ phải từ -180 đến 180.',
  'the first number is not a latitude; send latitude first, then longitude, such as 10.9935, 106.4921':
    'Số đầu tiên không phải vĩ độ. Hãy ghi vĩ độ trước, kinh độ sau, ví dụ 10.9935, 106.4921.',
  'write degrees, minutes and seconds as 10 59 36.7 N; minutes and seconds below 60, decimals only on the last number':
    'Ghi độ, phút, giây như 10 59 36.7 N; phút và giây dưới 60, chỉ số cuối cùng có phần thập phân.',
  'give one latitude (N or S) and one longitude (E or W)': 'Cần một vĩ độ (N hoặc S) và một kinh độ (E hoặc W).',
  'use either a minus sign or a hemisphere letter (S, W), not both':
    'Dùng dấu trừ hoặc chữ chỉ hướng (S, W), không dùng cả hai.',
  'cannot tell the two numbers apart; write decimals with a point, such as 10.9935, 106.4921':
    'Không phân biệt được hai số. Hãy viết phần thập phân bằng dấu chấm, ví dụ 10.9935, 106.4921.',
  'only geo: links in WGS84 (the GPS system) are understood': 'Chỉ đọc được liên kết geo: theo hệ WGS84 (GPS).',
};

// The message of a refused pasted location, in the page language.
export function locMessage(e) {
  if (!(e instanceof ApiError) || e.status !== 400 || !e.message) return errorText(e);
  if (getLang() === 'vi') return LOC_VI[e.message] || t('f.location_text');
  return e.message.charAt(0).toUpperCase() + e.message.slice(1) + '.';
}

// What the server understood of `text`: {lat, lon, form, ward_code, inside}.
// Throws ApiError (400 for text it cannot read).
export function geoParse(text, signal) {
  return api('/geo/parse', { query: { text }, token: null, signal });
}

// The nearest relief points to (lat, lon), open ones only unless `all`:
// plain objects (properties, lon/lat, distance_m).
export async function nearestPoints(lat, lon, { limit = 3, all = false } = {}) {
  const fc = await api('/points/nearest', { query: { lat: lat.toFixed(6), lon: lon.toFixed(6), limit: all ? limit : 10 }, token: null });
  const list = (fc?.features || []).map((f) => ({ ...(f.properties || {}), lon: f.geometry?.coordinates?.[0], lat: f.geometry?.coordinates?.[1] }));
  return (all ? list : list.filter((p) => p.status === 'open')).slice(0, limit);
}

export function pointIcon(kind) {
  const name = { shelter: 'shelter', food: 'food', water: 'water', medical: 'medical', charging: 'charging', boat: 'boat' }[kind] || 'other';
  const el = icon(name);
  el.style.color = RELIEF_COLOR[kind] || RELIEF_COLOR.other;
  return el;
}

// One relief point as a list item: kind, name, distance, status, hours, address.
export function pointItem(p) {
  const meta = [];
  if (p.hours) meta.push(t('pt.hours', { h: p.hours }));
  if (p.capacity != null) meta.push(t('pt.capacity', { n: p.capacity }));
  return h('li', { class: `point pt-${p.kind} ps-${p.status}`, dataset: { id: String(p.id), status: p.status } },
    h('div', { class: 'point-head' }, pointIcon(p.kind), h('strong', { class: 'point-name' }, p.name),
      p.distance_m != null ? h('span', { class: 'dist' }, fmtDistance(p.distance_m)) : null),
    h('div', { class: 'point-meta' }, `${t(`rk.${p.kind}`)} · `, h('span', { class: `badge ps-${p.status}` }, t(`rs.${p.status}`)),
      meta.length ? ` · ${meta.join(' · ')}` : ''),
    p.address ? h('div', { class: 'point-addr' }, p.address) : null);
}

// Fill `ul` with the points, or the "none" line.
export function renderPoints(ul, points) {
  ul.replaceChildren(...(points.length ? points.map(pointItem) : [h('li', { class: 'hint' }, t('pt.none'))]));
}
