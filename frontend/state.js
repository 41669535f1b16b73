// What the views share, and the router: which step of a job's way the page shows, and which job or view the address
// names (so that a reload opens it again); the same page opened later follows the unfinished job it followed, else
// opens "My analyses" for a returning user.
import { $, show, text } from "./dom.js";

const JOB_KEY = "ergo.job";
const ANALYSED_KEY = "ergo.analysed";

/** The shared state: the server's lists and limits (/api/info), whether the caller is an operator (the server says
 * with each status), the job the page follows. Each view keeps the rest of what it needs to itself. */
export const state = { info: null, operator: false, jobId: null };

/** Each view and the parts of the page it shows; the access and operator panels open beside any of them. */
const VIEWS = {
  upload: ["#upload-section"],
  uploading: ["#progress-section", "#upload-progress"],
  "upload-failed": ["#progress-section", "#upload-failure"],
  job: ["#progress-section", "#job-progress"],
  failed: ["#failure-section"],
  results: ["#results-section"],
  compare: ["#compare-section"],
  history: ["#history-section"],
};
const PARTS = [...new Set(Object.values(VIEWS).flat())];

export function showView(name) {
  const shown = new Set(VIEWS[name]);
  for (const selector of PARTS) show(selector, shown.has(selector));
}

/** The job named by the address (?job=), else the unfinished one this browser followed last. */
export const jobToFollow = () => new URLSearchParams(location.search).get("job") || localStorage.getItem(JOB_KEY);

/** The view the address names (?view=history, ?view=upload), if it names one; a job's views are named by ?job=. */
export const addressView = () => new URLSearchParams(location.search).get("view");

/** Whether this browser has followed a job before: such a user's page opens on "My analyses". */
export const returningUser = () => Boolean(localStorage.getItem(ANALYSED_KEY) || localStorage.getItem(JOB_KEY));

/** Names the job in the address (a reload follows it) and remembers it until it finishes (the page opened again
 * follows it), and that this browser has analysed. */
export function rememberJob(jobId) {
  const url = new URL(location.href);
  url.searchParams.delete("view");
  url.searchParams.set("job", jobId);
  history.replaceState(null, "", url);
  localStorage.setItem(JOB_KEY, jobId);
  localStorage.setItem(ANALYSED_KEY, "yes");
}

/** The job followed has finished: the page opened again shows "My analyses", where it is listed. */
export function jobFinished(jobId) {
  if (localStorage.getItem(JOB_KEY) === jobId) localStorage.removeItem(JOB_KEY);
}

export function forgetJob() {
  const url = new URL(location.href);
  url.searchParams.delete("job");
  history.replaceState(null, "", url);
  localStorage.removeItem(JOB_KEY);
}

/** Names a view other than a job's in the address, so that a reload opens it again. */
export function rememberView(name) {
  const url = new URL(location.href);
  url.searchParams.delete("job");
  url.searchParams.set("view", name);
  history.replaceState(null, "", url);
}

/** A message above every view (an action that failed, a server that cannot be reached); "" hides it. */
export function banner(message) {
  text("#banner", message || "");
  show("#banner", Boolean(message));
}

/** Whether the operator panel is open (its list refreshes itself only then). */
export const operatorOpen = () => !$("#operator-section").hidden;
