// Renders media/icon.png (128×128, the Marketplace icon): a white shield with a check on Apie blue.
// Run: node media/make-icon.mjs. Pure Node (zlib), so no image tooling is needed.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const S = 128;
const px = Buffer.alloc(S * S * 4);
const set = (x, y, [r, g, b, a]) => px.set([r, g, b, a], (y * S + x) * 4);
const inShield = (x, y) => {
  const cx = 64, top = 22, bottom = 108, half = 36;
  if (y < top || y > bottom) return false;
  const t = (y - top) / (bottom - top);
  const w = t < 0.55 ? half : half * Math.sqrt(Math.max(0, 1 - ((t - 0.55) / 0.45) ** 2));
  return Math.abs(x + 0.5 - cx) <= w;
};
const nearSegment = (x, y, [x1, y1], [x2, y2], r) => {
  const dx = x2 - x1, dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) <= r;
};
for (let y = 0; y < S; y++) {
  for (let x = 0; x < S; x++) {
    const corner = Math.hypot(Math.max(0, Math.abs(x + 0.5 - 64) - 44), Math.max(0, Math.abs(y + 0.5 - 64) - 44)) > 20;
    if (corner) set(x, y, [0, 0, 0, 0]);
    else if (inShield(x, y)) set(x, y, nearSegment(x, y, [47, 64], [59, 77], 5) || nearSegment(x, y, [59, 77], [82, 50], 5) ? [0, 95, 184, 255] : [255, 255, 255, 255]);
    else set(x, y, [0, 95, 184, 255]);
  }
}
const rows = Buffer.concat(Array.from({ length: S }, (_, y) => Buffer.concat([Buffer.from([0]), px.subarray(y * S * 4, (y + 1) * S * 4)])));
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
const chunk = (type, data) => {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
  return Buffer.concat([len, body, sum]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(S, 0); ihdr.writeUInt32BE(S, 4); ihdr.set([8, 6, 0, 0, 0], 8);
writeFileSync(new URL("./icon.png", import.meta.url), Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]));
