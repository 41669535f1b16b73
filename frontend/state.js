// What the views share, and the router: which step of a job's way the page shows, and which job the address names
// (so that a reload, or the same page opened later, follows the job again).
import { $, show, text } from "./dom.js";

const JOB_KEY = "ergo.job";

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
};
const PARTS = [...new Set(Object.values(VIEWS).flat())];

export function showView(name) {
  const shown = new Set(VIEWS[name]);
  for (const selector of PARTS) show(selector, shown.has(selector));
}

/** The job named by the address (?job=), else the one this browser followed last. */
export const jobToFollow = () => new URLSearchParams(location.search).get("job") || localStorage.getItem(JOB_KEY);

export function rememberJob(jobId) {
  const url = new URL(location.href);
  url.searchParams.set("job", jobId);
  history.replaceState(null, "", url);
  localStorage.setItem(JOB_KEY, jobId);
}

export function forgetJob() {
  const url = new URL(location.href);
  url.searchParams.delete("job");
  history.replaceState(null, "", url);
  localStorage.removeItem(JOB_KEY);
}

/** A message above every view (an action that failed, a server that cannot be reached); "" hides it. */
export function banner(message) {
  text("#banner", message || "");
  show("#banner", Boolean(message));
}

/** Whether the operator panel is open (its list refreshes itself only then). */
export const operatorOpen = () => !$("#operator-section").hidden;
