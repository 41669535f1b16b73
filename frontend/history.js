// "My analyses": the caller's own jobs (the server's list_my_jobs), newest first, with the task record, the verdict and
// the headline scores in words; filtered by station, task and text; a row reopens its job (?job=), and two completed
// ones ticked go to the comparison (?compare=OLDER,NEWER: the comparison view's).
import * as api from "./api.js";
import { tokenRefused } from "./access.js";
import { $, h, show, text } from "./dom.js";
import { stopWatching, watch } from "./progress.js";
import { rememberView, showView } from "./state.js";

const PAGE_SIZE = 20;
const FILTER_DELAY_MS = 300;
const FILTERS = { station: "#history-station", task: "#history-task", text: "#history-text" };
/** What the list has: where its next page starts, which jobs are ticked to compare (kept while the filters change),
 * the answer it waits for (an older one that comes late is dropped), and the filters' pending reload. */
const listing = { cursor: null, ticked: new Set(), asked: 0, timer: null };

/** Shows the list, names it in the address (a reload opens it again) and loads its first page. */
export function openHistory() {
  showView("history");
  rememberView("history");
  loadHistory();
}

export const historyOpen = () => !$("#history-section").hidden;

/** The first page again (a new token may see other jobs). */
export function refreshHistory() {
  loadHistory();
}

/** The address of a job's own view, keeping what else the address says (?api=). */
function jobAddress(jobId) {
  const url = new URL(location.href);
  url.searchParams.delete("view");
  url.searchParams.set("job", jobId);
  return url.search;
}

const filters = () => Object.fromEntries(Object.entries(FILTERS)
  .map(([name, selector]) => [name, $(selector).value.trim()]).filter(([, value]) => value));

/** Loads the first page (``more``: the next one) with the filters as they are now. */
async function loadHistory(more = false) {
  const asked = ++listing.asked;
  const params = { limit: PAGE_SIZE, ...filters(), ...(more ? { cursor: listing.cursor } : {}) };
  show("#history-error", false);
  let answer;
  try {
    answer = await api.call("list_my_jobs", params);
  } catch (error) {
    if (asked !== listing.asked) return;
    text("#history-error", error.code === "unauthorized" ? tokenRefused() : error.message);
    return show("#history-error");
  }
  if (asked !== listing.asked) return;  // the filters changed meanwhile: a newer answer is coming
  const rows = answer.jobs.map(jobRow);
  if (more) $("#history-table tbody").append(...rows);
  else $("#history-table tbody").replaceChildren(...rows);
  listing.cursor = answer.next_cursor;
  show("#history-more", Boolean(listing.cursor));
  const shown = $("#history-table tbody").rows.length;
  show("#history-table", shown > 0);
  text("#history-count", shown ? `${shown} ${shown === 1 ? "analysis" : "analyses"} shown${listing.cursor ? ", more below" : ""}.`
    : Object.keys(filters()).length ? "No analysis matches these filters." : "You have no analyses yet: analyse a video to start.");
  offerChoices(answer.jobs);
  compareState();
}

/** One job: its video (which reopens it), when, what it was of, the verdict, the scores with their levels, its state. */
function jobRow(job) {
  const name = job.filename || job.job_id;
  const link = h("a", { href: jobAddress(job.job_id), class: "history-open" }, name);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    watch(job.job_id);
  });
  const created = new Date(job.created_at);
  const record = [job.record.station, job.record.task].filter(Boolean).join(" · ");
  const video = h("td", { class: "filename", "data-label": "Video" }, link,
    job.rescored_from ? h("small", { class: "muted rescored" }, `re-scored from job ${job.rescored_from}`) : null);
  return h("tr", { "data-job": job.job_id, "data-status": job.status },
    h("td", { class: "pick" }, job.status === "completed" ? tickBox(job, name, created) : null),
    video,
    h("td", { "data-label": "Date" }, h("time", { datetime: job.created_at }, created.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }))),
    h("td", { "data-label": "Station · task" }, record || h("span", { class: "muted" }, "–"),
      [job.record.department, job.record.assessor].some(Boolean)
        ? h("small", { class: "muted" }, [job.record.department, job.record.assessor].filter(Boolean).join(" · ")) : null),
    h("td", { "data-label": "Verdict", class: "verdict-cell", "data-verdict": job.verdict || "" }, job.verdict || "–"),
    h("td", { "data-label": "RULA" }, scoreWords(job.rula)),
    h("td", { "data-label": "REBA" }, scoreWords(job.reba)),
    h("td", { "data-label": "State" }, ["queued", "processing"].includes(job.status) && job.progress
      ? `${job.status} ${job.progress.toFixed(0)}%` : job.status));
}

/** A headline score with its level's words and colour ("6 · investigate and change soon"); "–" without one. */
function scoreWords(headline) {
  if (!headline) return h("span", { class: "muted" }, "–");
  return h("span", { class: "score" }, h("span", { class: `swatch-box lv${headline.level}`, "aria-hidden": "true" }),
    h("strong", {}, String(headline.max)), ` · ${headline.label}`);
}

/** The box that ticks a completed job for the comparison, named for what it ticks. */
function tickBox(job, name, created) {
  const box = h("input", { type: "checkbox", value: job.job_id, checked: listing.ticked.has(job.job_id),
    "aria-label": `Compare ${name} of ${created.toLocaleString()}` });
  box.addEventListener("change", () => {
    if (box.checked) listing.ticked.add(job.job_id);
    else listing.ticked.delete(job.job_id);
    compareState();
  });
  return box;
}

/** The compare button is for exactly two ticked analyses; the line beside it says how many are. */
function compareState() {
  const count = listing.ticked.size;
  $("#history-compare").disabled = count !== 2;
  text("#history-compare-note", count === 2 ? "Two analyses ticked." : count > 2 ? `${count} ticked: untick all but two.`
    : `Tick two completed analyses to compare them${count ? " (one ticked)" : ""}.`);
}

/** To the comparison, the older job first (before, then after); ids sort by creation. */
function compare() {
  if (listing.ticked.size !== 2) return;
  const [before, after] = [...listing.ticked].sort();
  const params = new URLSearchParams(location.search);
  for (const name of ["job", "view", "compare"]) params.delete(name);
  const rest = params.toString();
  location.assign(`?compare=${before},${after}${rest ? `&${rest}` : ""}`);
}

/** The stations and tasks seen so far, offered as the filters' suggestions. */
function offerChoices(jobs) {
  for (const name of ["station", "task"]) {
    const list = $(`#history-${name}-choices`);
    const known = new Set([...list.options].map((option) => option.value));
    for (const job of jobs) {
      const value = job.record[name];
      if (value && !known.has(value)) {
        known.add(value);
        list.append(h("option", { value }));
      }
    }
  }
}

/** The list's controls and the "My analyses" link on every view. */
export function initHistory() {
  $("#history-link").addEventListener("click", (event) => {
    event.preventDefault();
    stopWatching();
    openHistory();
    $("#history-title").focus();
  });
  $("#history-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(listing.timer);
    loadHistory();
  });
  $("#history-filters").addEventListener("input", () => {
    clearTimeout(listing.timer);
    listing.timer = setTimeout(() => loadHistory(), FILTER_DELAY_MS);
  });
  $("#history-more").addEventListener("click", () => loadHistory(true));
  $("#history-compare").addEventListener("click", compare);
}
