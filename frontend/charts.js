// Charts drawn by the page itself as SVG (no CDN: the page works offline and behind a firewall).
import { h } from "./dom.js";
import { formatMoment, formatTime, readable } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
export const RULA_COLORS = { 1: "#2e7d32", 2: "#9e7c00", 3: "#d35400", 4: "#b3261e" };
export const REBA_COLORS = { 0: "#5d8aa8", 1: "#2e7d32", 2: "#9e7c00", 3: "#d35400", 4: "#b3261e" };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The level of a score, from the server's table of [level, highest score, label] rows (/api/info: risk_levels). */
function levelOf(table, score) {
  const row = table.find(([, highest]) => score <= highest) || table[table.length - 1];
  return row[0];
}

export const NOT_SCORED = "#eceff1";
const SCALES = { rula: [1, 3, 5, 7], reba: [1, 4, 8, 11, 15] };

/** Where a time chart's time axis lies in its drawing (from x0 at 0 s to x1 at the end), for the video's cursor and
 * for a click on the chart (video.js). */
const timeAxis = (x0, x1, duration) => ({ "data-x0": x0, "data-x1": x1, "data-duration": duration });

// Two bar strips (RULA, REBA): each analysed frame's score as a bar on a score axis, coloured by its level,
// over the video's duration; grey where the frame has no score.
export function timelineChart(container, frames, duration, riskLevels) {
  const width = 800, left = 64, right = 10, band = 64, gap = 26, top = 8;
  const height = top + 2 * band + gap + 36;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, "data-frames": frames.length, ...timeAxis(left, width - right, duration) });
  const x = (t) => left + (t / Math.max(duration, 1e-6)) * (width - left - right);
  const step = frames.length > 1 ? frames[1].time - frames[0].time : duration;
  const rows = [["RULA", "rula", RULA_COLORS], ["REBA", "reba", REBA_COLORS]];
  rows.forEach(([label, key, colors], row) => {
    const y0 = top + row * (band + gap);
    const ticks = SCALES[key], highest = ticks[ticks.length - 1];
    const y = (score) => y0 + band - (score / highest) * band;
    svg.append(el("text", { x: 0, y: y0 + band / 2 + 5, "font-size": 14, "font-weight": 600 }, label));
    svg.append(el("rect", { x: left, y: y0, width: width - left - right, height: band, fill: NOT_SCORED }));
    for (const tick of ticks) {
      svg.append(el("line", { x1: left - 4, x2: width - right, y1: y(tick), y2: y(tick), stroke: "#b0bec5", "stroke-width": 0.5 }));
      svg.append(el("text", { x: left - 7, y: y(tick) + 4, "font-size": 11, "text-anchor": "end" }, String(tick)));
    }
    for (const frame of frames) {
      const score = frame[key];
      if (score == null) continue;
      const rect = el("rect", { x: x(frame.time), y: y(score), width: Math.max(1, x(frame.time + step) - x(frame.time)),
                                height: y0 + band - y(score), fill: colors[levelOf(riskLevels[key], score)], class: `seg ${key}` });
      rect.append(el("title", {}, `${formatMoment(frame.time)}: ${label} ${score}`));
      svg.append(rect);
    }
  });
  const axisY = top + 2 * band + gap + 20;
  const label = (t) => (duration < 20 ? `${t.toFixed(1)} s` : formatTime(t));  // short clips need tenths
  for (let i = 0; i <= 5; i++) {
    const t = (duration * i) / 5;
    svg.append(el("text", { x: x(t), y: axisY, "font-size": 12, "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle" }, label(t)));
  }
  svg.append(el("text", { x: width - right, y: axisY + 14, "font-size": 11, "text-anchor": "end" }, "time in the video"));
  container.replaceChildren(svg);
}

/** The timeline's legend: each method's levels with their score ranges, and what grey means. */
export function timelineLegend(list, riskLevels) {
  const item = (colour, words) => h("li", {}, h("span", { class: "swatch-box", style: `background:${colour}` }), words);
  const items = [];
  for (const [name, key, colors] of [["RULA", "rula", RULA_COLORS], ["REBA", "reba", REBA_COLORS]]) {
    let lowest = 1;  // both scores start at 1
    for (const [level, highest, words] of riskLevels[key]) {
      const range = lowest === highest ? `${lowest}` : `${lowest}-${highest}`;
      items.push(item(colors[level], `${name} ${range}: ${words}`));
      lowest = highest + 1;
    }
  }
  items.push(item(NOT_SCORED, "grey: no score for that frame (no person found, or a joint the score needs was not seen)"));
  list.replaceChildren(...items);
}

// One horizontal stacked bar per body part: share of time in each band.
export function bandChart(container, timeInBand) {
  const parts = Object.entries(timeInBand);
  const width = 800, left = 140, rowHeight = 30, palette = ["#5d8aa8", "#2e7d32", "#d35400", "#b3261e"];
  const svg = el("svg", { viewBox: `0 0 ${width} ${parts.length * rowHeight + 30}` });
  parts.forEach(([part, bands], row) => {
    const y = row * rowHeight + 4;
    svg.append(el("text", { x: 0, y: y + 17, "font-size": 14 }, readable(part)));
    let offset = left;
    const normal = Object.keys(bands).indexOf("normal");
    Object.entries(bands).forEach(([band, value], i) => {
      const w = value.share * (width - left - 10);
      if (w <= 0) return;
      // below the normal band blue, the normal band green, each band further above it warmer
      const colour = i < normal ? palette[0] : palette[Math.min(palette.length - 1, 1 + i - normal)];
      const rect = el("rect", { x: offset, y, width: w, height: rowHeight - 8, fill: colour, class: "band" });
      rect.append(el("title", {}, `${readable(part)}: ${band} ${(value.share * 100).toFixed(0)}% (${value.seconds.toFixed(1)} s)`));
      svg.append(rect);
      offset += w;
    });
  });
  svg.append(el("text", { x: left, y: parts.length * rowHeight + 22, "font-size": 12 },
    "blue: backward / behind / extended · green: normal · orange: moderate / bent · red: strong / extreme"));
  container.replaceChildren(svg);
}

// The worksheets' body parts and the highest score each can get.
export const BODY_PARTS = {
  rula: [["upper_arm", 6], ["lower_arm", 3], ["wrist", 4], ["neck", 6], ["trunk", 6], ["legs", 2]],
  reba: [["trunk", 5], ["neck", 3], ["legs", 4], ["upper_arm", 6], ["lower_arm", 2], ["wrist", 3]],
};
const SHADES = ["#2e7d32", "#9e7c00", "#d35400", "#b3261e"];  // a part's score as a share of its highest: quarters

/** A body part's colour for its ``score`` out of the ``highest`` it can get (pipeline/evidence.py's shades). */
export const partShade = (score, highest) => SHADES[Math.min(3, Math.floor((4 * (score - 1)) / Math.max(highest, 2)))];

/** One CSV row's cells (RFC 4180: a quoted cell may hold commas and doubled quotes; no row here spans lines). */
export function csvCells(line) {
  const cells = [];
  const cell = /(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g;
  for (const [, quoted, plain] of line.matchAll(cell)) cells.push(quoted !== undefined ? quoted.replaceAll('""', '"') : plain);
  return cells;
}

// Parse frames.csv into [{time, rula, reba, parts: {"rula_upper_arm": score, ...}}].
export function parseFrames(csv) {
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const columns = csvCells(header);
  const at = (name) => columns.indexOf(name);
  const time = at("time_s"), rula = at("rula_grand_score"), reba = at("reba_reba_score");
  const parts = Object.entries(BODY_PARTS).flatMap(([method, list]) => list.map(([part]) => `${method}_${part}`));
  return lines.map((line) => {
    const cells = csvCells(line);
    const number = (i) => (i < 0 || cells[i] === "" || cells[i] === undefined ? null : Number(cells[i]));
    return { time: number(time), rula: number(rula), reba: number(reba),
             parts: Object.fromEntries(parts.map((name) => [name, number(at(name))])) };
  });
}

// One thin strip per body part and method: each frame coloured by the part's score against the highest it can get.
export function bodyPartChart(container, frames, duration) {
  const width = 800, left = 150, right = 10, strip = 12, gap = 4, heading = 22;
  const rows = Object.entries(BODY_PARTS).flatMap(([method, list]) => list.map(([part, highest]) => [method, part, highest]));
  const height = rows.length * (strip + gap) + 2 * heading + 24;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, ...timeAxis(left, width - right, duration) });
  const x = (t) => left + (t / Math.max(duration, 1e-6)) * (width - left - right);
  const step = frames.length > 1 ? frames[1].time - frames[0].time : duration;
  let y = 0;
  rows.forEach(([method, part, highest], index) => {
    if (index === 0 || rows[index - 1][0] !== method) {
      y += heading;
      svg.append(el("text", { x: 0, y: y - 6, "font-size": 13, "font-weight": 600 }, method.toUpperCase()));
    }
    svg.append(el("text", { x: 0, y: y + strip - 2, "font-size": 11, class: "part-label" }, `${readable(part)} (1-${highest})`));
    svg.append(el("rect", { x: left, y, width: width - left - right, height: strip, fill: NOT_SCORED }));
    for (const frame of frames) {
      const score = frame.parts[`${method}_${part}`];
      if (score == null) continue;
      const shade = partShade(score, highest);
      const rect = el("rect", { x: x(frame.time), y, width: Math.max(1, x(frame.time + step) - x(frame.time)), height: strip,
                                fill: shade, class: "part-seg" });
      rect.append(el("title", {}, `${formatMoment(frame.time)}: ${method.toUpperCase()} ${readable(part)} ${score} of ${highest}`));
      svg.append(rect);
    }
    y += strip + gap;
  });
  svg.append(el("text", { x: left, y: y + 16, "font-size": 11 },
    "green: lowest quarter of the part's range · yellow · orange · red: highest · grey: not scored"));
  container.replaceChildren(svg);
}
