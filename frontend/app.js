// The page: choose a video, upload it straight to storage, follow the job, read the results; an operator's panel and
// the access token beside them. Each view is its own module; this one starts them and wires them together.
import * as api from "./api.js";
import { initAccess, showAccess, tokenFromLink } from "./access.js";
import { initOperator, refreshJobs } from "./operator.js";
import { initProgress, pollNow, stopWatching, watch } from "./progress.js";
import { initRescore } from "./rescore.js";
import { banner, forgetJob, jobToFollow, operatorOpen, showView, state } from "./state.js";
import { clearUpload, initUpload, setUpUpload } from "./upload.js";

/** Back to an empty upload form: the job followed is forgotten (it goes on; the operator list still shows it). */
function newAnalysis() {
  stopWatching();
  forgetJob();
  clearUpload();
  showView("upload");
}

/** A new token may see more: the operator list, and the job followed (an operator may resume it). */
function tokenSaved() {
  if (operatorOpen()) refreshJobs();
  pollNow();
}

async function main() {
  tokenFromLink();
  initAccess(tokenSaved);
  initUpload(watch);
  initProgress(newAnalysis);
  initOperator();
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
  const jobId = jobToFollow();
  if (jobId) watch(jobId);
  document.body.dataset.ready = "true"; // the server has answered and every control is drawn (tests wait for it)
}

main();
