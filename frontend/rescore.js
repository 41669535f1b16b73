// Re-scoring from the results: "Change task details and re-score" opens the task-details form filled with the job's
// own details (and an optional part of the video); the server scores the poses it found again as a new job, which the
// page then follows as it follows an upload's. A result shows which job it was re-scored from, and which re-scores it has.
import * as api from "./api.js";
import { $, h, show, text } from "./dom.js";
import { state } from "./state.js";
import { fillTaskDetails, renderTaskDetails, taskDetails, taskProblems } from "./task-details.js";

/** The re-score form's inputs' ids begin with this (the upload form's with "task"). */
const PREFIX = "rescore";
/** The job the results show, and what follows a new job (progress.js's watch, given by app.js). */
const shown = { status: null, follow: () => {} };

/** The controls, from the start; ``follow(jobId)`` follows the new job. */
export function initRescore(follow) {
  shown.follow = follow;
  $("#rescore-open").addEventListener("click", () => openForm(!$("#rescore-form").hidden));
  $("#rescore-cancel").addEventListener("click", () => openForm(true));
  $("#rescore-form").addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
}

/** The results' links to the job's original and its re-scores, and whether it can be re-scored (its files kept). */
export function renderRescore(status) {
  shown.status = status;
  openForm(true);
  const lines = [status.rescored_from ? ["Re-scored from ", jobLink(status.rescored_from)] : null,
    status.rescores?.length ? ["Re-scored as ", ...status.rescores.flatMap((id, i) => [i ? ", " : null, jobLink(id)])] : null]
    .filter(Boolean);
  $("#rescore-links").replaceChildren(...lines.flatMap((line, i) => [i ? h("br") : null, ...line]).filter(Boolean));
  show("#rescore-links", lines.length > 0);
  text("#rescore-note", status.rescore?.note || "");  // the part of the video it covers is the results' own line
  show("#rescore-note", Boolean(status.rescore));
  $("#rescore-open").disabled = Boolean(status.results_expired);
  text("#rescore-expired", status.results_expired ? "This job's files have expired: it cannot be re-scored." : "");
}

/** A link that opens job ``id`` in this page (and in a new tab, by its address). */
function jobLink(id) {
  const link = h("a", { href: `?job=${encodeURIComponent(id)}`, class: "job-link" }, id);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    shown.follow(id);
  });
  return link;
}

/** Opens the form filled with the shown job's details (``close``: closes it). */
function openForm(close) {
  $("#rescore-open").setAttribute("aria-expanded", String(!close));
  show("#rescore-form", !close);
  show("#rescore-error", false);
  if (close || !shown.status) return;
  const fields = state.info?.task_details || [];
  renderTaskDetails(fields, $("#rescore-fields"), PREFIX);
  fillTaskDetails(fields, shown.status.task_params || {}, PREFIX);
  $("#rescore-start").value = "";
  $("#rescore-end").value = "";
  $(`#${PREFIX}-fields input, #rescore-start`)?.focus();
}

/** The time range typed, in seconds ({start_s, end_s}, either unset), or {problem} in words. */
function timeRange() {
  const read = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
  const start = read("#rescore-start"), end = read("#rescore-end");
  if ([start, end].some((value) => value != null && !(Number.isFinite(value) && value >= 0))) {
    return { problem: "The part of the video is given in seconds from its start: numbers of 0 or more." };
  }
  if (start != null && end != null && end <= start) return { problem: `The part must end after it starts (${start} s to ${end} s).` };
  return { start_s: start ?? undefined, end_s: end ?? undefined };
}

async function start() {
  const fields = state.info?.task_details || [];
  const { problem, ...range } = timeRange();
  const problems = [...taskProblems(fields, PREFIX), problem].filter(Boolean);
  text("#rescore-error", problems.length ? `Nothing was started: ${problems.join(" ")}` : "");
  show("#rescore-error", problems.length > 0);
  if (problems.length) return;
  try {
    // every detail as the form shows it: they replace the job's whole ({} puts every one back to its default)
    const answer = await api.call("rescore_job", { job_id: shown.status.job_id, params: taskDetails(fields, PREFIX) || {}, ...range });
    shown.follow(answer.job_id);
  } catch (error) {
    text("#rescore-error", error.message);
    show("#rescore-error", true);
  }
}
