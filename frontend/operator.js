// The operator panel: every job (what, whose, how it stands, when work started, for how long), refreshed while the
// panel is open and the page visible; cancel and resume from the list; delete old finished jobs after a count.
import * as api from "./api.js";
import { tokenRefused } from "./access.js";
import { $, button, h, show, text } from "./dom.js";
import { formatTime, plural } from "./format.js";
import { JOB_CHANGED, act } from "./progress.js";
import { operatorOpen } from "./state.js";

const FIRST_LIST_MS = 5000, MAX_LIST_MS = 30000;
/** The next refresh, how long until it, and whether this token may list jobs at all. */
const listing = { timer: null, delay: FIRST_LIST_MS, denied: false };

const age = (iso) => formatTime((Date.now() - Date.parse(iso)) / 1000);

/** One row of the list: what, whose, how it stands (with a failed job's error), when work started, for how long. */
function jobRow(job) {
  const link = h("a", { href: `?job=${job.job_id}`, title: job.job_id }, job.filename || job.job_id);
  const range = job.asked_range ? h("small", { class: "job-range" }, job.asked_range.words) : null;  // a part of the video
  const status = h("td", {}, job.stalled ? `${job.status} (stalled)` : job.status);
  if (job.error) status.append(h("small", { class: "job-error" }, job.error));
  const actions = h("td", {});
  if (job.resumable) actions.append(button("Resume", () => act("resume_job", job.job_id)));
  if (["queued", "processing"].includes(job.status)) actions.append(button("Cancel", () => act("cancel_job", job.job_id)));
  return h("tr", {}, h("td", { class: "filename" }, link, range), h("td", {}, job.owner ? job.owner.slice(0, 8) : "–"),
    h("td", {}, job.quality || ""), status, h("td", {}, `${job.progress.toFixed(0)}%`),
    h("td", {}, job.work_started_at ? `${age(job.work_started_at)} ago` : "not yet"),
    h("td", {}, job.work_seconds == null ? "–" : formatTime(job.work_seconds)), h("td", {}, attemptWords(job)), actions);
}

/** How often the job was tried, of how often it may be, and how often an operator resumed it. */
function attemptWords(job) {
  const attempts = job.attempts ? `${job.attempts} of ${job.max_retries + 1}` : "not started";
  return attempts + (job.resumes ? ` · resumed ${job.resumes === 1 ? "once" : `${job.resumes} times`}` : "");
}

/** "ok", "error" (tried again later) or "denied" (this token may not list jobs). */
async function loadJobs() {
  show("#jobs-error", false);
  try {
    const { jobs } = await api.call("list_jobs", { limit: 50, state: $("#state-filter").value || undefined });
    listing.denied = false;
    $("#jobs-table tbody").replaceChildren(...jobs.map(jobRow));
    text("#jobs-updated", `updated ${new Date().toLocaleTimeString()}`);
    return "ok";
  } catch (error) {
    listing.denied = error.code === "forbidden" || error.code === "unauthorized";
    text("#jobs-error", error.code === "forbidden" ? "The job list is for operators: the saved token is not an operator's."
      : error.code === "unauthorized" ? tokenRefused() : error.message);
    show("#jobs-error");
    return listing.denied ? "denied" : "error";
  }
}

/** Refreshes the list now, then every 5 s, slower while nothing changes. */
export async function refreshJobs() {
  clearTimeout(listing.timer);
  listing.delay = FIRST_LIST_MS;
  await loadJobs();
  scheduleJobs();
}

function scheduleJobs() {
  clearTimeout(listing.timer);
  // a token that may not list jobs only collects 403s: a new token (Save) or Refresh asks again
  if (!operatorOpen() || document.visibilityState !== "visible" || listing.denied) return;
  listing.timer = setTimeout(async () => {
    const outcome = await loadJobs();
    listing.delay = outcome === "ok" ? Math.min(listing.delay * 1.5, MAX_LIST_MS) : MAX_LIST_MS;
    scheduleJobs();
  }, listing.delay);
}

/** Old finished jobs, their files and the videos no job needs any more: counted first, deleted after a confirmation. */
async function purgeOldJobs(event) {
  event.preventDefault();
  const days = Number($("#purge-days").value);
  try {
    const preview = await api.call("purge_jobs", { older_than_days: days, dry_run: true });
    const count = preview.would_delete.length;
    if (!count) return text("#purge-result", `No finished job is older than ${days} days.`);
    const more = preview.more ? " (there are more: delete again for the rest)" : "";
    const question = `Delete ${plural(count, "finished job")}${more}, their result files and the videos no `
      + "other job needs? Videos of jobs that can still run or be resumed are kept. This cannot be undone.";
    if (!window.confirm(question)) return;
    const done = await api.call("purge_jobs", { older_than_days: days, dry_run: false });
    const kept = done.kept.length ? `; ${done.kept.length} kept (changed meanwhile)` : "";
    text("#purge-result", `Deleted ${plural(done.deleted.length, "job")}${kept}.`);
    refreshJobs();
  } catch (error) {
    text("#purge-result", error.message);
  }
}

function toggle() {
  const section = $("#operator-section");
  section.hidden = !section.hidden;
  $("#operator-toggle").setAttribute("aria-expanded", String(!section.hidden));
  if (section.hidden) clearTimeout(listing.timer);
  else refreshJobs();
}

/** The panel's controls. */
export function initOperator() {
  $("#operator-toggle").addEventListener("click", toggle);
  $("#state-filter").addEventListener("change", refreshJobs);
  $("#refresh-jobs").addEventListener("click", refreshJobs);
  $("#purge-form").addEventListener("submit", purgeOldJobs);
  document.addEventListener(JOB_CHANGED, () => operatorOpen() && refreshJobs());
  document.addEventListener("visibilitychange", () => (document.visibilityState === "visible" ? scheduleJobs() : clearTimeout(listing.timer)));
}
