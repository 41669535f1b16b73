// The upload view: choose a video (checked against the server's list and limit before a byte is sent), the quality,
// the task details; send it straight to storage, resumable after a reload; then start the job.
import * as api from "./api.js";
import { askForToken, tokenRefused } from "./access.js";
import { $, h, show, text } from "./dom.js";
import { formatTime, humanBytes } from "./format.js";
import { state, showView } from "./state.js";
import { fillTaskDetails, renderTaskDetails, taskDetails, taskProblems } from "./task-details.js";
import { chooseForRange, clearRange, timeRange } from "./time-range.js";
import { renderRecordFields, uploadRecord } from "./record.js";

const CHOICES_KEY = "ergo.choices";
/** The file chosen and, once it passed the checks, the one to send; the upload under way (to cancel it); the file
 * whose pictures the time range shows (a file judged again once the server answers is drawn once). */
const chosen = { file: null, accepted: null, upload: null, ranged: null };

function checkFile(file) {
  const types = state.info?.video_types;  // the server's list (/api/info) is the only one
  if (!types) return "The server has not said which files it accepts yet; reload the page once it answers.";
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  if (!file.name.includes(".") || !(extension in types)) {
    return `"${file.name}" is not a video this service reads. Choose an ${Object.keys(types).join(", ")} file.`;
  }
  const limit = state.info?.max_upload_bytes;
  if (limit && file.size > limit) return `"${file.name}" is ${humanBytes(file.size)}; the limit is ${humanBytes(limit)}.`;
  if (file.size === 0) return `"${file.name}" is empty.`;
  return null;
}

function chooseFile(file) {
  chosen.file = file;  // checked again once the server has said which files it accepts, if it had not yet
  const problem = checkFile(file);
  chosen.accepted = problem ? null : file;
  text("#file-error", problem || "");
  show("#file-error", Boolean(problem));
  text("#file-info", problem ? "" : `${file.name} · ${humanBytes(file.size)}`);
  $("#start-button").disabled = Boolean(problem);
  if (problem) clearRange();
  else if (file !== chosen.ranged) chooseForRange(file, resumedRange(file));
  chosen.ranged = problem ? null : file;
}

function renderQualities() {
  const presets = state.info?.presets || [];
  const fastest = presets.find((preset) => preset.relative_time === 1)?.name;
  $("#quality-options").replaceChildren(...presets.map((preset) => {
    const cost = preset.relative_time === 1 ? "fastest" : `about ${preset.relative_time}x the time of ${fastest}`;
    const input = h("input", { type: "radio", name: "quality", value: preset.name });
    input.checked = preset.default;
    input.addEventListener("change", () => { $("#overlay").checked = preset.overlay; });  // each preset's default
    if (preset.default) $("#overlay").checked = preset.overlay;
    return h("label", {}, input, " ", h("strong", {}, preset.name), h("small", {}, `${preset.description} (${cost})`));
  }));
}

/** The file chooser offers the types the server accepts. */
function acceptVideoTypes() {
  const types = Object.keys(state.info?.video_types || {});
  if (!types.length) return;
  $("#file-input").accept = ["video/*", ...types.map((type) => `.${type}`)].join(",");
  const names = types.map((type) => type.toUpperCase());
  const limit = state.info.max_upload_bytes ? `, up to ${humanBytes(state.info.max_upload_bytes)}` : "";
  text("#file-hint", `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}${limit}`);
}

/** Shows how much is sent; an upload in parts shows what storage holds whole (what a reload keeps, so the bar never
 * goes back after one), and its speed counts only what this session sends. */
function progressReporter() {
  const started = performance.now();
  let first = null;  // bytes storage had before this session
  return (sent, total, stored) => {
    first ??= sent;
    const speed = (sent - first) / Math.max((performance.now() - started) / 1000, 1e-3);
    $("#upload-bar").value = (100 * (stored ?? sent)) / total;
    const left = speed > 0 ? ` · ${humanBytes(speed)}/s · ${formatTime((total - sent) / speed)} left` : "";
    const kept = stored == null || stored === sent ? "" : ` (${humanBytes(stored)} stored)`;
    text("#upload-text", `${humanBytes(sent)} of ${humanBytes(total)} sent${kept}${left}`);
  };
}

/** The task details and the task record checked against the server's schema: {record} when both pass, else null
 * (what is wrong is shown, and the first field at fault has the focus). */
function checkedForm(fields) {
  const problems = taskProblems(fields);
  const { record, problems: recordProblems = [] } = uploadRecord();
  const all = [...problems, ...recordProblems];
  const what = [problems.length && "the task details", recordProblems.length && "the task record"].filter(Boolean).join(" and ");
  text("#details-error", all.length ? `Check ${what} first (nothing was sent): ${all.join(" ")}` : "");
  show("#details-error", Boolean(all.length));
  if (!all.length) return { record };
  $("#task-details").open = Boolean(problems.length);
  document.querySelector('#task-fields [aria-invalid="true"], #record-fields [aria-invalid="true"]').focus();
  return null;
}

/** Checks the task details and the record, sends the chosen file and starts its job; ``onJob(jobId)`` follows it. */
async function startUpload(onJob) {
  if (!chosen.accepted) return;
  const fields = state.info?.task_details || [];
  const checked = checkedForm(fields);
  if (!checked) return;
  const { record } = checked;
  const span = timeRange();
  if (span.problem) {
    $("#range-start").focus();
    return;
  }
  const quality = document.querySelector('input[name="quality"]:checked')?.value;
  rememberChoices(quality, span, taskDetails(fields), record);
  showView("uploading");
  $("#upload-bar").value = 0;
  text("#upload-text", "");
  try {
    chosen.upload = api.uploadVideo(chosen.accepted, progressReporter());
    const videoKey = await chosen.upload.promise;
    chosen.upload = null;  // sent: nothing left to cancel
    show("#resume-hint", false);
    const job = await api.call("start_processing", { video_key: videoKey, quality, params: taskDetails(fields),
      blur_faces: $("#blur-faces").checked, overlay: $("#overlay").checked, record, ...span });
    onJob(job.job_id);
  } catch (error) {
    chosen.upload = null;
    showView("upload-failed");
    text("#upload-error", error.code === "unauthorized" ? tokenRefused() : error.message);
    if (error.code === "unauthorized") askForToken();
  }
}

/** The options chosen for an upload, the part of the video to analyse, the task details and the task record typed,
 * kept in this browser so that an upload resumed after a reload keeps them. */
function rememberChoices(quality, span, details, record) {
  localStorage.setItem(CHOICES_KEY, JSON.stringify({ quality, blur: $("#blur-faces").checked, overlay: $("#overlay").checked,
    range: { start_s: span.start_s, end_s: span.end_s }, details, record }));
}

function savedChoices() {
  try { return JSON.parse(localStorage.getItem(CHOICES_KEY) || "null"); } catch { return null; }  // unreadable: the defaults
}

function restoreChoices() {
  const saved = savedChoices();
  const radio = saved && document.querySelector(`input[name="quality"][value="${CSS.escape(saved.quality || "")}"]`);
  if (!radio) return;
  radio.checked = true;
  $("#blur-faces").checked = saved.blur;
  $("#overlay").checked = saved.overlay;
  fillTaskDetails(state.info?.task_details || [], saved.details || {});  // those given; the others their defaults
  $("#task-details").open ||= Boolean(saved.details);
  if (saved.record) renderRecordFields(saved.record);
}

/** The part of the video chosen for the upload of ``file`` that stopped, where ``file`` is its file; else the whole. */
const resumedRange = (file) => (api.unfinishedUpload(file) && savedChoices()?.range) || {};

function hintUnfinishedUpload() {
  const saved = api.unfinishedUpload();
  if (saved) {
    restoreChoices();
    text("#resume-hint", `The upload of "${saved.name}" (${humanBytes(saved.size)}) stopped before it finished. `
      + "Choose the same file again to continue where it stopped.");
  }
  show("#resume-hint", Boolean(saved));
}

/** The view's controls, from the start (a file may be chosen before the server has answered). */
export function initUpload(onJob) {
  $("#file-input").addEventListener("change", (event) => event.target.files[0] && chooseFile(event.target.files[0]));
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files[0]) chooseFile(event.dataTransfer.files[0]);
  });
  $("#start-button").addEventListener("click", () => startUpload(onJob));
  $("#retry-upload").addEventListener("click", () => startUpload(onJob));
  $("#cancel-upload").addEventListener("click", () => chosen.upload?.abort());
}

/** What the server's lists decide (/api/info): the qualities, the task details, the file types and the limit. */
export function setUpUpload() {
  renderQualities();
  renderTaskDetails(state.info?.task_details || []);
  renderRecordFields();
  hintUnfinishedUpload();
  acceptVideoTypes();
  if (chosen.file && state.info) chooseFile(chosen.file);  // a file chosen while the server had not answered yet
}

/** A fresh form for the next video. */
export function clearUpload() {
  chosen.file = chosen.accepted = null;
  $("#file-input").value = "";
  text("#file-info", "");
  show("#file-error", false);
  $("#start-button").disabled = true;
  chosen.ranged = null;
  clearRange();
}
