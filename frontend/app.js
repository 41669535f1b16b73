// The page: choose a video, upload it straight to storage, follow the job, read the results.
import * as api from "./api.js";
import { REBA_COLORS, RULA_COLORS, bandChart, bodyPartChart, formatMoment, formatTime, parseFrames, readable, timelineChart,
  timelineLegend } from "./charts.js";

const $ = (selector) => document.querySelector(selector);
const JOB_KEY = "ergo.job";
const FIRST_POLL_MS = 2000, MAX_POLL_MS = 10000;
const FIRST_LIST_MS = 5000, MAX_LIST_MS = 30000;
const ETA_WINDOW_MS = 120000;  // the time left comes from the progress made over the last two minutes

const state = { info: null, chosen: null, file: null, upload: null, jobId: null, pollTimer: null, pollDelay: FIRST_POLL_MS, lastStatus: null,
  listTimer: null, listDelay: FIRST_LIST_MS, progress: { jobId: null, best: 0, samples: [] } };

function show(id, visible = true) { $(id).hidden = !visible; }
function text(id, value) { $(id).textContent = value; }
function humanBytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
function banner(message) { text("#banner", message || ""); show("#banner", Boolean(message)); }

// -- choosing a file ------------------------------------------------------------------------
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
  state.chosen = file;  // checked again once the server has said which files it accepts, if it had not yet
  const problem = checkFile(file);
  state.file = problem ? null : file;
  text("#file-error", problem || "");
  show("#file-error", Boolean(problem));
  text("#file-info", problem ? "" : `${file.name} · ${humanBytes(file.size)}`);
  $("#start-button").disabled = Boolean(problem);
}

function renderQualities() {
  const presets = state.info?.presets || [];
  const fastest = presets.find((preset) => preset.relative_time === 1)?.name;
  $("#quality-options").replaceChildren(...presets.map((preset) => {
    const label = document.createElement("label");
    const cost = preset.relative_time === 1 ? "fastest" : `about ${preset.relative_time}x the time of ${fastest}`;
    label.innerHTML = `<input type="radio" name="quality" value="${preset.name}"> <strong>${preset.name}</strong>
      <small>${preset.description} (${cost})</small>`;
    const input = label.querySelector("input");
    input.checked = preset.default;
    input.addEventListener("change", () => { $("#overlay").checked = preset.overlay; });  // each preset's default
    if (preset.default) $("#overlay").checked = preset.overlay;
    return label;
  }));
}

/** The task details form, from the server's list (/api/info: task_details). */
function renderTaskDetails() {
  const fields = state.info?.task_details || [];
  $("#task-fields").replaceChildren(...fields.map((field) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.name = field.name;
    input.dataset.type = field.type;
    if (field.type === "boolean") {
      input.type = "checkbox";
      input.checked = Boolean(field.default);
      label.append(input, ` ${field.description}`);
    } else {
      Object.assign(input, { type: "number", value: field.default ?? 0, step: field.type === "integer" ? 1 : "any" });
      if (field.minimum != null) input.min = field.minimum;
      if (field.maximum != null) input.max = field.maximum;
      label.append(`${field.description} `, input);
    }
    return label;
  }));
}

/** The task details that differ from their defaults (what start_processing's params needs). */
function taskDetails() {
  const params = {};
  for (const field of state.info?.task_details || []) {
    const input = document.querySelector(`#task-fields input[name="${field.name}"]`);
    const value = field.type === "boolean" ? input.checked : Number(input.value);
    if (value !== field.default) params[field.name] = value;
  }
  return Object.keys(params).length ? params : undefined;
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

// -- uploading ------------------------------------------------------------------------------
async function startUpload() {
  if (!state.file) return;
  const file = state.file;
  const quality = document.querySelector('input[name="quality"]:checked')?.value;
  show("#upload-section", false); show("#progress-section"); show("#upload-failure", false); show("#job-progress", false);
  show("#upload-progress");
  $("#upload-bar").value = 0; text("#upload-text", "");
  try {
    const started = performance.now();
    let first = null;  // bytes storage had before this session: a resumed upload's speed counts only what it sends
    state.upload = api.uploadVideo(file, (sent, total) => {
      first ??= sent;
      const seconds = (performance.now() - started) / 1000;
      const speed = (sent - first) / Math.max(seconds, 1e-3);
      $("#upload-bar").value = (100 * sent) / total;
      const left = speed > 0 ? ` · ${humanBytes(speed)}/s · ${formatTime((total - sent) / speed)} left` : "";
      text("#upload-text", `${humanBytes(sent)} of ${humanBytes(total)}${left}`);
    });
    const videoKey = await state.upload.promise;
    state.upload = null;
    show("#resume-hint", false);
    const job = await api.call("start_processing", { video_key: videoKey, quality, params: taskDetails(),
      blur_faces: $("#blur-faces").checked, overlay: $("#overlay").checked });
    watch(job.job_id);
  } catch (error) {
    state.upload = null;
    show("#upload-progress", false);
    show("#upload-failure");
    text("#upload-error", error.code === "unauthorized"
      ? "This server needs an access token. Enter it above, then try again." : error.message);
    if (error.code === "unauthorized") askForToken();
  }
}

// -- access token ---------------------------------------------------------------------------------
function askForToken() {
  showAccess(true);
  $("#token-input").focus();
}

function showAccess(visible) {
  show("#access-section", visible);
  $("#token-toggle").setAttribute("aria-expanded", String(visible));
}

/** A token in the link's fragment (#token=..., which browsers never send to a server) is saved, then removed from the address. */
function tokenFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.get("token")) return;
  api.setToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}

// -- following a job --------------------------------------------------------------------------
function rememberJob(jobId) {
  const url = new URL(location.href);
  url.searchParams.set("job", jobId);
  history.replaceState(null, "", url);
  localStorage.setItem(JOB_KEY, jobId);
}

function forgetJob() {
  const url = new URL(location.href);
  url.searchParams.delete("job");
  history.replaceState(null, "", url);
  localStorage.removeItem(JOB_KEY);
}

function stopPolling() {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

function watch(jobId) {
  stopPolling();
  state.jobId = jobId;
  state.pollDelay = FIRST_POLL_MS;
  rememberJob(jobId);
  show("#upload-section", false); show("#results-section", false); show("#failure-section", false);
  show("#progress-section"); show("#upload-progress", false); show("#upload-failure", false); show("#job-progress");
  text("#job-id", jobId);
  poll();
}

async function poll() {
  const jobId = state.jobId;
  let status;
  try {
    status = (await api.call("get_status", { job_id: jobId })).job_status;
  } catch (error) {
    if (error.code === "job_not_found" || error.code === "invalid_job_id") {
      forgetJob();
      reset();
      banner(`Job ${jobId} was not found; it may have been deleted.`);
      return;
    }
    text("#job-detail", `${error.message} Retrying…`);
    return schedule(jobId);
  }
  if (jobId !== state.jobId) return;
  state.lastStatus = status;
  renderProgress(status);
  if (status.status === "completed") return renderResults(status);
  if (status.status === "failed" || status.status === "cancelled") return renderFailure(status);
  schedule(jobId);
}

function schedule(jobId) {
  if (jobId !== state.jobId) return;
  state.pollTimer = setTimeout(poll, state.pollDelay);
  state.pollDelay = Math.min(state.pollDelay * 1.5, MAX_POLL_MS);
}

const ordinal = (n) => `${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

/** The time left from the progress this page has seen over the last two minutes, or null until there is some. */
function timeLeft(progress) {
  const now = Date.now(), track = state.progress;
  const last = track.samples[track.samples.length - 1];
  if (!last || last.progress !== progress) track.samples.push({ at: now, progress });
  track.samples = track.samples.filter((sample) => now - sample.at <= ETA_WINDOW_MS);
  const first = track.samples[0], newest = track.samples[track.samples.length - 1];
  if (track.samples.length < 3 || newest.progress <= first.progress) return null;
  const rate = (newest.progress - first.progress) / (newest.at - first.at);  // percent per millisecond
  return (100 - progress) / rate / 1000;
}

function renderProgress(status) {
  const track = state.progress;
  if (track.jobId !== status.job_id) Object.assign(track, { jobId: status.job_id, best: 0, samples: [] });
  const progress = Math.max(track.best, status.progress);  // what the page showed never goes back
  track.best = progress;
  const queued = status.status === "queued";
  const stage = queued ? "Queued" : status.stage || "Processing";
  text("#job-stage", stage.charAt(0).toUpperCase() + stage.slice(1));
  $("#job-bar").value = progress;
  const parts = [`${progress.toFixed(0)}%`];
  if (status.frames_total && !queued) parts.push(`${status.frames_done} of ${status.frames_total} frames`);
  const detail = $("#job-detail");
  detail.classList.toggle("stalled", Boolean(status.stalled));
  if (queued && status.queue) {
    const { position, running, estimate_s: estimate } = status.queue;
    parts.push(position === 1 ? "next in line" : `${ordinal(position)} in line`);
    if (running) parts.push(`${running} running now`);
    parts.push(estimate == null ? "estimating when it starts…" : estimate < 5 ? "starting shortly" : `starts in about ${formatTime(estimate)}`);
  } else if (status.stalled) {
    parts.push(`no word from the worker for ${formatTime(status.quiet_s)}: it may have stopped. The job is taken up again ` +
      "when its lease runs out, from its last checkpoint.");
  } else if (status.status === "processing") {
    const left = timeLeft(progress);
    parts.push(left == null ? "estimating time left…" : `about ${formatTime(left)} left`);
  }
  if (status.attempts > 1) parts.push(`attempt ${status.attempts}`);
  text("#job-detail", parts.join(" · "));
  show("#cancel-job", ["queued", "processing"].includes(status.status));  // the owner may cancel their own job
}

function renderFailure(status) {
  show("#progress-section", false);
  show("#failure-section");
  const title = status.status === "cancelled" ? "The analysis was cancelled" : "The analysis did not finish";
  text("#failure-title", title);
  text("#failure-message", status.error || (status.status === "cancelled" ? "It was cancelled." : "It failed."));
  // resuming helps only where the failure was not the job's own (a file that is not a video fails again)
  show("#resume-job", Boolean(status.resumable) && Boolean(api.getToken()));
}

// -- results ------------------------------------------------------------------------------------

function methodCard(id, name, block, colors) {
  const card = $(id);
  const bar = Object.entries(block.levels).map(([level, row]) =>
    `<span class="lv${level}" style="width:${(row.share * 100).toFixed(2)}%;background:${colors[level]}" title="${row.label}: ${(row.share * 100).toFixed(0)}%"></span>`).join("");
  const rows = Object.entries(block.levels).filter(([, row]) => row.frames > 0).map(([level, row]) =>
    `<tr><td><span class="swatch" style="color:${colors[level]}">■</span> ${level} · ${row.label}</td><td>${(row.share * 100).toFixed(0)}%</td><td>${row.seconds.toFixed(1)} s</td></tr>`).join("");
  const worst = block.worst_moments.map((m) =>
    `<li><a href="#picture-${m.frame_index}" class="moment">${formatMoment(m.time_s)}</a>: score ${m.score}</li>`).join("");
  card.innerHTML = `<h3>${name}</h3>
    <p><span class="big">${block.max ?? "–"}</span> max · mean ${block.mean == null ? "–" : block.mean.toFixed(1)}</p>
    <div class="levels" aria-hidden="true">${bar}</div>
    <table><tbody>${rows || "<tr><td>No scored frames</td></tr>"}</tbody></table>
    <p class="muted">Shares of the ${block.scored_frames} exactly scored frames.${block.ranged_frames
      ? ` ${block.ranged_frames} more had a body part out of sight: their score lies in a range, up to ${block.ranged_max}.` : ""}</p>
    <p class="muted">Worst moments</p><ol>${worst}</ol>`;
}

async function renderResults(status) {
  show("#progress-section", false);
  show("#results-section");
  const summary = status.summary;
  text("#results-meta", `${status.filename || "Video"} · job ${status.job_id} · quality ${status.quality} · ` +
    `${summary.frames_analysed} frames analysed`);
  text("#results-warning", status.warning || "");
  show("#results-warning", Boolean(status.warning));
  methodCard("#rula-card", "RULA", summary.rula, RULA_COLORS);
  methodCard("#reba-card", "REBA", summary.reba, REBA_COLORS);
  const share = (n) => `${Math.round((100 * n) / Math.max(summary.frames_analysed, 1))}%`;
  const basis = summary.frames_scored == null ? "" : `<p id="score-basis">What the scores stand on: ${share(summary.frames_scored)} of ` +
    `frames scored exactly, ${share(summary.frames_ranged)} as a range (a body part out of sight), ` +
    `${share(summary.frames_unscored)} not scored (no person, or nothing to score).</p>`;
  $("#detection-card").innerHTML = `<h3>Detection</h3><p><span class="big">${(summary.detection_rate * 100).toFixed(0)}%</span> of frames show the worker</p>` + basis +
    (summary.damaged_spans.length ? `<p class="error">Damaged video skipped: ${summary.damaged_spans.join("; ")}</p>` : "");
  renderMeasurement($("#measurement"), status);
  renderPictures($("#pictures"), status.pictures || []);
  bandChart($("#bands"), summary.time_in_band);
  $("#band-tables").innerHTML = Object.entries(summary.time_in_band).map(([part, bands]) =>
    `<table><caption>${readable(part)}</caption><tbody>${Object.entries(bands).map(([band, v]) =>
      `<tr><td>${band}</td><td>${v.seconds.toFixed(1)} s</td><td>${(v.share * 100).toFixed(0)}%</td></tr>`).join("")}</tbody></table>`).join("");
  const sustained = summary.sustained_postures.filter((run) => run.band !== "normal");  // holding a normal posture is no risk
  $("#sustained").innerHTML = sustained.length ? sustained.map((run) =>
    `<li>${readable(run.part)}: ${run.band} from ${formatMoment(run.start_s)} for ${run.duration_s.toFixed(1)} s</li>`).join("")
    : "<li>No posture outside the normal band lasted 4 s or longer.</li>";
  renderDownloads(status);
  try {
    const url = (await api.call("generate_download_url", { job_id: status.job_id, artifact: "csv" })).download_url;
    const frames = parseFrames(await (await fetch(url)).text());
    const duration = frames.length ? frames[frames.length - 1].time + (frames.length > 1 ? frames[1].time - frames[0].time : 0) : 0;
    timelineChart($("#timeline"), frames, duration, state.info.risk_levels);
    timelineLegend($("#timeline-legend"), state.info.risk_levels);
    bodyPartChart($("#body-parts"), frames, duration);
  } catch (error) {
    text("#timeline", `The timeline could not be drawn (${error.message}).`);
  }
}

/** Which model, which angles came from 3D points or the 2D image, what was measured and what assumed. */
function renderMeasurement(root, status) {
  root.replaceChildren();
  const line = (label, value) => {
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = `${label}: `;
    p.append(strong, value);
    root.append(p);
  };
  const inputs = status.inputs || {};
  if (status.model?.name) line("Pose model", `${status.model.name}${status.model.weights ? ` (${status.model.weights})` : ""}`);
  const sources = Object.values(inputs.angle_sources || {});
  const from3d = sources.reduce((n, s) => n + s["3d"], 0);
  const from2d = sources.reduce((n, s) => n + s["2d"], 0);
  if (from3d + from2d) {
    line("Angles", `${Math.round((100 * from3d) / (from3d + from2d))}% from 3D body points, ` +
      `${Math.round((100 * from2d) / (from3d + from2d))}% from the 2D image`);
  }
  if (inputs.measured) line("Measured from the video", inputs.measured.map(readable).join(", "));
  if (inputs.assumed) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Assumed from the job's settings (what the video cannot show)";
    const list = document.createElement("ul");
    const measured = new Set(inputs.measured || []);
    for (const [name, value] of Object.entries(inputs.assumed)) {
      const item = document.createElement("li");
      item.textContent = `${readable(name)}: ${value}`;
      if (measured.has(name)) {  // measured where it was seen: the setting stood in only for the other frames
        const unmeasured = (inputs.frames_scored ?? 0) - (inputs.frames_measured?.[name] ?? 0);
        item.textContent += ` (measured where seen; this value stood in for the ${unmeasured} scored frames where it was not)`;
      }
      list.append(item);
    }
    details.append(summary, list);
    root.append(details);
  }
}

/** The posture pictures, each with when and why; a worst moment's link above scrolls to its picture. */
function renderPictures(root, pictures) {
  root.replaceChildren(...pictures.map((picture) => {
    const figure = document.createElement("figure");
    figure.id = `picture-${picture.frame_index}`;
    const image = Object.assign(document.createElement("img"), { src: picture.url, loading: "lazy",
      alt: `The worker at ${formatMoment(picture.time_s)} with the measured skeleton and scores` });
    const caption = document.createElement("figcaption");
    caption.textContent = `${formatMoment(picture.time_s)}: ${picture.reasons.join("; ")}`;
    figure.append(image, caption);
    return figure;
  }));
  if (!pictures.length) root.textContent = "No pictures for this job.";
}

function renderDownloads(status) {
  const names = { pkl: "Data (PKL)", json: "Summary (JSON)", csv: "Frames (CSV)", xlsx: "Report (Excel)", pdf: "Report (PDF)",
    mp4: "Annotated video (MP4)" };
  $("#downloads").replaceChildren(...status.artifacts.map((artifact) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.artifact = artifact;
    button.textContent = names[artifact] || artifact;
    button.addEventListener("click", async () => {
      try {
        const { download_url } = await api.call("generate_download_url", { job_id: status.job_id, artifact });
        const link = Object.assign(document.createElement("a"), { href: download_url, download: "" });
        document.body.append(link);
        link.click();
        link.remove();
      } catch (error) {
        banner(error.message);
      }
    });
    return button;
  }));
}

// -- operator ----------------------------------------------------------------------------------
const CONFIRM = {
  cancel_job: "Cancel this analysis? It stops at its next checkpoint; an operator can resume it later.",
};

async function jobAction(action, jobId) {
  if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
  try {
    await api.call(action, { job_id: jobId });
    banner("");
    if (jobId === state.jobId) watch(jobId);
    if (!$("#operator-section").hidden) refreshJobs();
  } catch (error) {
    banner(error.message);
  }
}

const age = (iso) => formatTime((Date.now() - Date.parse(iso)) / 1000);

async function loadJobs() {
  const tbody = $("#jobs-table tbody");
  show("#jobs-error", false);
  try {
    const state_ = $("#state-filter").value || undefined;
    const { jobs } = await api.call("list_jobs", { limit: 50, state: state_ });
    tbody.replaceChildren(...jobs.map((job) => {
      const row = document.createElement("tr");
      const cells = [job.filename || job.job_id, job.quality || "", job.stalled ? `${job.status} (stalled)` : job.status,
        `${job.progress.toFixed(0)}%`, `${age(job.created_at)} ago`, job.run_seconds ? formatTime(job.run_seconds) : "–",
        `${job.attempts} of ${job.max_retries + 1}`];
      cells.forEach((value, index) => {
        const cell = document.createElement("td");
        if (index === 0) {
          const link = Object.assign(document.createElement("a"), { href: `?job=${job.job_id}`, textContent: value, title: job.job_id });
          cell.append(link);
        } else {
          cell.textContent = value;
        }
        row.append(cell);
      });
      const actions = document.createElement("td");
      if (job.resumable) actions.append(actionButton("Resume", () => jobAction("resume_job", job.job_id)));
      if (["queued", "processing"].includes(job.status)) actions.append(actionButton("Cancel", () => jobAction("cancel_job", job.job_id)));
      row.append(actions);
      return row;
    }));
    text("#jobs-updated", `updated ${new Date().toLocaleTimeString()}`);
    return true;
  } catch (error) {
    text("#jobs-error", error.code === "forbidden" || error.code === "unauthorized"
      ? "The job list needs an operator token: set it under \"Access token\"." : error.message);
    show("#jobs-error");
    return false;
  }
}

/** Refreshes the list while the panel is open and the page is visible: every 5 s, slower while nothing changes. */
async function refreshJobs() {
  clearTimeout(state.listTimer);
  state.listDelay = FIRST_LIST_MS;
  await loadJobs();
  scheduleJobs();
}

function scheduleJobs() {
  clearTimeout(state.listTimer);
  if ($("#operator-section").hidden || document.visibilityState !== "visible") return;
  state.listTimer = setTimeout(async () => {
    const ok = await loadJobs();
    state.listDelay = ok ? Math.min(state.listDelay * 1.5, MAX_LIST_MS) : MAX_LIST_MS;
    scheduleJobs();
  }, state.listDelay);
}

function actionButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

// -- wiring --------------------------------------------------------------------------------------
function reset() {
  stopPolling();
  state.jobId = null;
  state.file = null;
  forgetJob();
  $("#file-input").value = "";
  text("#file-info", ""); show("#file-error", false);
  $("#start-button").disabled = true;
  for (const id of ["#progress-section", "#results-section", "#failure-section"]) show(id, false);
  show("#upload-section");
}

function bind() {
  $("#file-input").addEventListener("change", (event) => event.target.files[0] && chooseFile(event.target.files[0]));
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files[0]) chooseFile(event.dataTransfer.files[0]);
  });
  $("#start-button").addEventListener("click", startUpload);
  $("#cancel-upload").addEventListener("click", () => state.upload?.abort());
  $("#retry-upload").addEventListener("click", startUpload);
  document.querySelectorAll(".new-analysis").forEach((button) => button.addEventListener("click", reset));
  $("#cancel-job").addEventListener("click", () => jobAction("cancel_job", state.jobId));
  $("#resume-job").addEventListener("click", () => jobAction("resume_job", state.jobId));
  $("#operator-toggle").addEventListener("click", () => {
    const section = $("#operator-section");
    section.hidden = !section.hidden;
    $("#operator-toggle").setAttribute("aria-expanded", String(!section.hidden));
    if (section.hidden) clearTimeout(state.listTimer);
    else refreshJobs();
  });
  $("#token-toggle").addEventListener("click", () => showAccess($("#access-section").hidden));
  $("#token-input").value = api.getToken();
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api.setToken($("#token-input").value.trim());
    text("#token-saved", api.getToken() ? "Saved in this browser." : "Forgotten.");
    if (!$("#operator-section").hidden) refreshJobs();
    if (state.lastStatus) renderProgress(state.lastStatus);
  });
  $("#token-clear").addEventListener("click", () => {
    api.setToken("");
    $("#token-input").value = "";
    text("#token-saved", "Forgotten.");
  });
  $("#state-filter").addEventListener("change", refreshJobs);
  $("#refresh-jobs").addEventListener("click", refreshJobs);
  document.addEventListener("visibilitychange", () => (document.visibilityState === "visible" ? scheduleJobs() : clearTimeout(state.listTimer)));
}

function hintUnfinishedUpload() {
  const saved = api.unfinishedUpload();
  if (saved) text("#resume-hint", `The upload of "${saved.name}" (${humanBytes(saved.size)}) stopped before it finished. `
    + "Choose the same file again to continue where it stopped.");
  show("#resume-hint", Boolean(saved));
}

async function main() {
  tokenFromLink();
  bind();
  const refused = api.refusedApi();
  try {
    state.info = await api.info();
    if (refused) banner(`The link asked for the API at ${refused}, which this page is not set up to use (config.js); it uses its own.`);
  } catch (error) {
    banner(error.message);
  }
  hintUnfinishedUpload();
  if (state.info?.auth_required && !api.getToken()) showAccess(true);
  renderQualities();
  renderTaskDetails();
  acceptVideoTypes();
  if (state.chosen && state.info) chooseFile(state.chosen);  // a file chosen while the server had not answered yet
  const jobId = new URLSearchParams(location.search).get("job") || localStorage.getItem(JOB_KEY);
  if (jobId) watch(jobId);
}

main();
