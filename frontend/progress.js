// The job view: follows a job by polling its status; says where it stands (its place in the queue, how far the
// worker is, the time left the worker estimates, what it has cost so far, a stall); hands a finished job to the
// results, or says why it did not finish. Cancelling and resuming a job live here too.
import * as api from "./api.js";
import { $, show, text } from "./dom.js";
import { costWords, formatTime, ordinal } from "./format.js";
import { renderResults } from "./results.js";
import { banner, jobFinished, rememberJob, showView, state } from "./state.js";

/** The event a job action sends once the server did it. */
export const JOB_CHANGED = "ergo:job-changed";
const FIRST_POLL_MS = 2000, MAX_POLL_MS = 10000;
const CONFIRM = {
  cancel_job: "Cancel this analysis? It stops at its next checkpoint; an operator can resume it later.",
};
/** The next poll, how long until it, and the most progress shown of the job (what the page showed never goes back). */
const polling = { timer: null, delay: FIRST_POLL_MS, jobId: null, best: 0 };
let onGone = () => {};

export function stopWatching() {
  clearTimeout(polling.timer);
  polling.timer = null;
  state.jobId = null;
}

export function watch(jobId) {
  clearTimeout(polling.timer);
  state.jobId = jobId;
  polling.delay = FIRST_POLL_MS;
  rememberJob(jobId);
  showView("job");
  text("#job-id", jobId);
  poll();
}

/** Asks for the job's status now (a new token may see more of it), in whichever view it is. */
export function pollNow() {
  if (!state.jobId) return;
  clearTimeout(polling.timer);
  poll();
}

async function poll() {
  const jobId = state.jobId;
  let status;
  try {
    const answer = await api.call("get_status", { job_id: jobId });
    status = answer.job_status;
    state.operator = Boolean(answer.caller?.operator);
  } catch (error) {
    if (error.code === "job_not_found" || error.code === "invalid_job_id") {
      onGone();
      banner(`Job ${jobId} was not found; it may have been deleted.`);
      return;
    }
    text("#job-detail", `${error.message} Retrying…`);
    return schedule(jobId);
  }
  if (jobId !== state.jobId) return;
  if (["completed", "failed", "cancelled"].includes(status.status)) jobFinished(jobId);
  if (status.status === "completed") return renderResults(status);
  if (status.status === "failed" || status.status === "cancelled") {
    renderFailure(status);
    // an operator may resume it: then this page follows it again, without a reload
    if (status.resumable) schedule(jobId, MAX_POLL_MS);
    return;
  }
  showView("job");  // it may have been resumed
  renderProgress(status);
  schedule(jobId);
}

function schedule(jobId, delay = polling.delay) {
  if (jobId !== state.jobId) return;
  polling.timer = setTimeout(poll, delay);
  polling.delay = Math.min(polling.delay * 1.5, MAX_POLL_MS);
}

/** Where a queued job stands in the line, and when it may start. */
function queueWords({ position, running, estimate_s: estimate }) {
  const words = [position === 1 ? "next in line" : `${ordinal(position)} in line`];
  if (running) words.push(`${running} running now`);
  words.push(estimate == null ? "estimating when it starts…" : estimate < 5 ? "starting shortly" : `starts in about ${formatTime(estimate)}`);
  return words;
}

/** The time left as the worker estimates it (``eta_s``, from its own pace), less the time since it said so. */
function timeLeftWords(status) {
  if (status.eta_s == null) return "estimating time left…";
  const left = status.eta_s - (status.quiet_s || 0);
  return left < 5 ? "finishing" : `about ${formatTime(left)} left`;
}

function renderProgress(status) {
  if (polling.jobId !== status.job_id) Object.assign(polling, { jobId: status.job_id, best: 0 });
  const progress = Math.max(polling.best, status.progress);
  polling.best = progress;
  const queued = status.status === "queued";
  const stage = queued ? "Queued" : status.stage || "Processing";
  text("#job-stage", stage.charAt(0).toUpperCase() + stage.slice(1));
  $("#job-bar").value = progress;
  const parts = [`${progress.toFixed(0)}%`];
  if (status.frames_total && !queued) parts.push(`${status.frames_done} of ${status.frames_total} frames`);
  if (queued && status.queue) parts.push(...queueWords(status.queue));
  else if (status.stalled) {
    parts.push(`no word from the worker for ${formatTime(status.quiet_s)}: it may have stopped. The job is taken up again ` +
      "when its lease runs out, from its last checkpoint.");
  } else if (status.status === "processing") parts.push(timeLeftWords(status));
  if (status.attempts > 1) parts.push(`attempt ${status.attempts}`);
  $("#job-detail").classList.toggle("stalled", Boolean(status.stalled));
  text("#job-detail", parts.join(" · "));
  showRangeAsked(status);
  const cost = costWords(status.cost);
  text("#job-cost", cost ? `So far: ${cost}.` : "");
  show("#cancel-job", ["queued", "processing"].includes(status.status));  // the owner may cancel their own job
}

/** The part of the video the job analyses, in the server's words ("0:12–1:40 of the video"); nothing for all of it. */
function showRangeAsked(status) {
  const part = status.asked_range?.words;
  text("#job-range", part ? `Part of the video: ${part}.` : "");
  show("#job-range", Boolean(part));
}

function renderFailure(status) {
  showView("failed");
  const title = status.status === "cancelled" ? "The analysis was cancelled" : "The analysis did not finish";
  text("#failure-title", title);
  text("#failure-message", status.error || (status.status === "cancelled" ? "It was cancelled." : "It failed."));
  // resuming helps only where the failure was not the job's own (a file that is not a video fails again), and
  // only an operator may resume (on a server without tokens everyone is one): the server says who is asking
  show("#resume-job", Boolean(status.resumable) && state.operator);
}

/** Cancel or resume a job (asking first where it cannot be undone); the page follows the job if it is its own.
 */
export async function act(action, jobId) {
  if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
  try {
    await api.call(action, { job_id: jobId });
    banner("");
    if (jobId === state.jobId) watch(jobId);
    document.dispatchEvent(new CustomEvent(JOB_CHANGED, { detail: { jobId } }));  // the operator list shows it at once
  } catch (error) {
    banner(error.message);
  }
}

/** The view's controls; ``gone`` runs when the job followed no longer exists. */
export function initProgress(gone) {
  onGone = gone;
  $("#cancel-job").addEventListener("click", () => act("cancel_job", state.jobId));
  $("#resume-job").addEventListener("click", () => act("resume_job", state.jobId));
}
