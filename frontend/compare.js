// Before and after: two of one's analyses side by side, opened at ?compare=BEFORE,AFTER (issue 28, item 5). The
// server compares them (compare_jobs): each job's name, date, task record and verdict, the headline scores with their
// levels (colour and words), the time each body part spent in each band with the difference, what makes the two hard
// to compare, and a link to the comparison PDF. A job that is not assessable shows no score, so no difference either.
import * as api from "./api.js";
import { REBA_COLORS, RULA_COLORS } from "./charts.js";
import { $, h, show, text } from "./dom.js";
import { readable } from "./format.js";
import { showView } from "./state.js";

const COLORS = { rula: RULA_COLORS, reba: REBA_COLORS };
const LEVEL_KIND = { rula: "action level", reba: "risk level" };
const RECORD = ["station", "task", "department", "assessor", "notes"];

/** The two job ids the address names (?compare=A,B), [] when it names none, null when it names them wrongly. */
export function comparisonToShow() {
  const pair = new URLSearchParams(location.search).get("compare");
  if (pair == null) return [];
  const ids = pair.split(",").map((id) => id.trim()).filter(Boolean);
  return ids.length === 2 ? ids : null;
}

/** ``onBack`` runs when the person leaves the comparison ("Back"), once the address no longer names it. */
export function initCompare(onBack) {
  $("#compare-back").addEventListener("click", () => {
    const url = new URL(location.href);
    url.searchParams.delete("compare");
    history.replaceState(null, "", url);
    onBack();
  });
}

export async function showComparison(ids) {
  showView("compare");
  show("#compare-body", false);
  if (!ids) {
    text("#compare-status", "The address should name two analyses to compare: ?compare=BEFORE,AFTER (their job ids).");
    return;
  }
  text("#compare-status", "Comparing the two analyses…");
  try {
    const answer = await api.call("compare_jobs", { before: ids[0], after: ids[1] });
    render(answer.comparison, answer.pdf_url);
    text("#compare-status", "");
  } catch (error) {
    text("#compare-status", `These two cannot be compared: ${error.message}`);
  }
}

function render(comparison, pdfUrl) {
  $("#compare-jobs").replaceChildren(jobCard("Before", comparison.before), jobCard("After", comparison.after));
  $("#compare-headlines").replaceChildren(...comparison.headlines.map(headline));
  const notes = [...comparison.input_changes.map((change) => `Task detail changed: ${change.label}: ${change.before} → ${change.after}`),
    ...comparison.caveats];
  $("#compare-notes").replaceChildren(...notes.map((note) => h("li", {}, note)));
  show("#compare-notes", notes.length > 0);
  renderBands(comparison.bands);
  $("#compare-pdf").href = pdfUrl;
  show("#compare-body", true);
}

const analysedAt = (iso) => `${iso.replace("T", " ").slice(0, 16)} UTC`;

/** A job as the comparison names it: video, job, date, task record, quality, and its verdict with the reasons. */
function jobCard(title, side) {
  const row = (label, value) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value));
  const record = RECORD.filter((name) => side.record[name]).map((name) => row(name[0].toUpperCase() + name.slice(1), side.record[name]));
  return h("article", { class: "compare-job", "data-side": title.toLowerCase() }, h("h3", {}, title),
    h("table", {}, h("tbody", {}, row("Video", side.video), row("Job", side.job_id || "–"), row("Analysed", analysedAt(side.analysed_at)),
      record, row("Quality", `${side.preset} (${side.sample_fps} frames a second)`),
      row("Part analysed", side.span || `all ${side.duration_s.toFixed(1)} s of the video`))),
    h("div", { class: "verdict", "data-status": side.verdict.status }, h("h4", {}, `Verdict: ${side.verdict.status}`),
      side.verdict.reasons.length ? h("ul", {}, side.verdict.reasons.map((reason) => h("li", {}, reason))) : null));
}

/** One method before and after: the highest score in its level's colour with the level's words, and the difference. */
function headline(line) {
  const score = (title, value) => {
    if (!value) return h("div", { class: "compare-score", "data-side": title.toLowerCase() }, h("span", { class: "muted" }, title),
      h("span", { class: "big" }, "–"), h("span", {}, "not assessable: no score"));
    const color = value.level == null ? "var(--line)" : COLORS[line.method][value.level];
    const level = value.level == null ? "not scored" : `${LEVEL_KIND[line.method]} ${value.level}: ${value.level_label}`;
    return h("div", { class: "compare-score", "data-side": title.toLowerCase(), style: `border-left-color:${color}` },
      h("span", { class: "muted" }, title), h("span", { class: "big" }, value.max ?? "–"), h("span", {}, level),
      h("span", { class: "muted" }, `mean ${value.mean == null ? "–" : value.mean.toFixed(1)}`));
  };
  return h("article", { class: "compare-headline", "data-method": line.method }, h("h4", {}, line.method.toUpperCase()),
    h("div", { class: "compare-pair" }, score("Before", line.before), score("After", line.after)),
    h("p", { class: "compare-difference" }, line.words));
}

const percent = (share) => (share == null ? "–" : `${Math.round(share * 100)}%`);

function difference(row) {
  if (row.difference_share == null) return "–";
  if (row.difference_share === 0) return "no change";
  const points = Math.round(row.difference_share * 100);
  const seconds = `${row.difference_s > 0 ? "+" : row.difference_s < 0 ? "−" : ""}${Math.abs(row.difference_s).toFixed(1)} s`;
  return `${points > 0 ? "+" : points < 0 ? "−" : ""}${Math.abs(points)} points (${seconds})`;
}

/** Time in each band before and after, with the difference; a band with no time in either job is left out. */
function renderBands(bands) {
  const shown = bands.filter((row) => (row.before_s || 0) > 0 || (row.after_s || 0) > 0);
  const time = (seconds, share) => (seconds == null ? "–" : `${percent(share)} (${seconds.toFixed(1)} s)`);
  $("#compare-bands tbody").replaceChildren(...shown.map((row) => h("tr", { "data-part": row.part, "data-band": row.band },
    h("th", { scope: "row" }, readable(row.part)), h("td", {}, row.band), h("td", {}, time(row.before_s, row.before_share)),
    h("td", {}, time(row.after_s, row.after_share)), h("td", {}, difference(row)))));
  text("#compare-bands-note", shown.length < bands.length ? "Bands with no time in either job are left out." : "");
}
