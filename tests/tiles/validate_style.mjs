// validate_style.mjs: check a MapLibre style file with the style
// specification's own validator (@maplibre/maplibre-gl-style-spec, installed
// by `npm ci` with maplibre-gl). Usage: node validate_style.mjs STYLE.json
// Exit 0: valid; 1: errors (printed); 77: the validator is not installed.
import fs from 'node:fs';

let spec;
try {
  spec = await import('@maplibre/maplibre-gl-style-spec');
} catch {
  console.error('validate_style: @maplibre/maplibre-gl-style-spec not installed (npm ci)');
  process.exit(77);
}
const style = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const errors = spec.validateStyleMin(style);
for (const e of errors) console.error(`validate_style: ${e.message}`);
process.exit(errors.length ? 1 : 0);
