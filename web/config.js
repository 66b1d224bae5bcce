// config.js: site settings for the helpmap web pages, loaded before the page
// scripts. Edit on the server; nothing here is secret.
//   basemapStyle: null, or a MapLibre style (URL string or object) drawn under
//     the area polygons, e.g. '/basemap/style.json' served next to the pages.
//     Leave null offline: the commune and hamlet polygons are the base map.
//   center, zoom, bounds: first view before the areas are known
//     (lon/lat; bounds = [minLon, minLat, maxLon, maxLat]; default Củ Chi).
window.HELPMAP_CONFIG = {
  basemapStyle: null,
  center: [106.51, 11.04],
  zoom: 10,
  bounds: [106.356484, 10.914484, 106.657216, 11.160309],
};
