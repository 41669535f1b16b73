// The page: choose a video, upload it straight to storage, follow the job, read the results; an operator's panel and
// the access token beside them. Each view is its own module; this one starts them and wires them together.
import * as api from "./api.js";
import { initAccess, showAccess, tokenFromLink } from "./access.js";
import { comparisonToShow, initCompare, showComparison } from "./compare.js";
import { historyOpen, initHistory, openHistory, refreshHistory } from "./history.js";
import { initOperator, refreshJobs } from "./operator.js";
import { initProgress, pollNow, stopWatching, watch } from "./progress.js";
import { initRescore } from "./rescore.js";
import { addressView, banner, forgetJob, jobToFollow, operatorOpen, rememberView, returningUser, showView, state } from "./state.js";
import { initTimeRange } from "./time-range.js";
import { clearUpload, initUpload, setUpUpload } from "./upload.js";
import { stopVideo } from "./video.js";

/** Back to an empty upload form: the job followed is forgotten (it goes on; My analyses and the operator list show it). */
function newAnalysis() {
  stopWatching();
  stopVideo();
  forgetJob();
  rememberView("upload");
  clearUpload();
  showView("upload");
}

/** A new token may see more: the operator list, the job followed (an operator may resume it), its own analyses. */
function tokenSaved() {
  if (operatorOpen()) refreshJobs();
  if (historyOpen()) refreshHistory();
  pollNow();
}

/** The first view: the job or the view the address names, else the unfinished job this browser follows, else
 * "My analyses" for a returning user, else the form. */
function firstView() {
  const jobId = jobToFollow(), view = addressView();
  if (jobId && !view) watch(jobId);
  else if (view === "history" || (!view && returningUser())) openHistory();
  else showView("upload");
}

async function main() {
  tokenFromLink();
  initAccess(tokenSaved);
  initUpload(watch);
  initTimeRange();
  initProgress(newAnalysis);
  initOperator();
  initCompare(firstView);
  initHistory();
  initRescore(watch);
  document.querySelectorAll(".new-analysis").forEach((control) => control.addEventListener("click", newAnalysis));
  const refused = api.refusedApi();
  try {
    state.info = await api.info();
    if (refused) banner(`The link asked for the API at ${refused}, which this page is not set up to use (config.js); it uses its own.`);
  } catch (error) {
    banner(error.message);
  }
  if (state.info?.auth_required && !api.getToken()) showAccess(true);
  setUpUpload();
  const comparison = comparisonToShow();
  if (comparison?.length === 0) firstView();
  else showComparison(comparison);
  document.body.dataset.ready = "true"; // the server has answered and every control is drawn (tests wait for it)
}

main();
