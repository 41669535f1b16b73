// The job API, as the page uses it. The page holds no secret: a token is typed in, kept in this
// browser only, and sent only to the API origin config.js names.
import { ALLOWED_API_ORIGINS, API_BASE } from "./config.js";

const TOKEN_KEY = "ergo.token";
const UPLOAD_KEY = "ergo.upload";
const PARALLEL_PARTS = 4;

export class ApiError extends Error {
  constructor(message, code, httpStatus) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

const originOf = (url) => { try { return new URL(url, location.href).origin; } catch { return null; } };

/** The ?api= this page was opened with, if config.js does not allow it (the page then ignores it). */
export function refusedApi() {
  const fromQuery = new URLSearchParams(location.search).get("api");
  if (!fromQuery) return null;
  const allowed = [location.origin, originOf(API_BASE || location.href), ...ALLOWED_API_ORIGINS.map(originOf)];
  return allowed.includes(originOf(fromQuery)) ? null : fromQuery;
}

export function apiBase() {
  const fromQuery = new URLSearchParams(location.search).get("api");
  return (fromQuery && !refusedApi() ? fromQuery : API_BASE || "").replace(/\/$/, "");
}

export const getToken = () => localStorage.getItem(TOKEN_KEY) || "";
export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

function headers() {
  const result = { "Content-Type": "application/json" };
  const token = getToken();
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

export async function info() {
  let response;
  try {
    response = await fetch(`${apiBase()}/api/info`);
  } catch {
    throw new ApiError(`Cannot reach the server${apiBase() ? " at " + apiBase() : ""}. Is it running?`, "unreachable", 0);
  }
  if (!response.ok) throw new ApiError(`The server answered ${response.status}.`, "server_error", response.status);
  return response.json();
}

export async function call(action, params = {}) {
  let response;
  try {
    response = await fetch(`${apiBase()}/api/${action}`, { method: "POST", headers: headers(), body: JSON.stringify(params) });
  } catch {
    throw new ApiError("Cannot reach the server. Check your connection.", "unreachable", 0);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without a readable reply.`, "server_error", response.status);
  }
  if (body.status !== "success") {
    throw new ApiError(body.error || "The request failed.", body.code || "error", response.status);
  }
  return body;
}

// -- uploads --------------------------------------------------------------------------------
const fingerprint = (file) => `${file.name}|${file.size}|${file.lastModified}`;

/** An upload in parts this browser began and did not finish, if it was of ``file`` (or of any file, without one). */
export function unfinishedUpload(file = null) {
  try {
    const saved = JSON.parse(localStorage.getItem(UPLOAD_KEY) || "null");
    return saved && (!file || saved.fingerprint === fingerprint(file)) ? saved : null;
  } catch {
    return null;
  }
}
const forgetUpload = () => localStorage.removeItem(UPLOAD_KEY);

/** The unfinished upload of ``file`` this browser remembers, with the parts storage has whole; null if none. */
async function resumable(file) {
  const slot = unfinishedUpload(file);
  if (!slot) return null;
  try {
    const { parts } = await call("list_upload_parts", { video_key: slot.video_key, upload_id: slot.upload_id });
    return { slot, done: new Map(parts.map((part) => [part.number, part.size])) };
  } catch (error) {
    if (error.code !== "upload_not_found") throw error;
    return null;  // finished, cancelled or expired: begin again
  }
}

function rememberUpload(file, slot) {
  localStorage.setItem(UPLOAD_KEY, JSON.stringify({ fingerprint: fingerprint(file), name: file.name, size: file.size,
    video_key: slot.video_key, upload_id: slot.upload_id, part_size: slot.part_size, part_count: slot.part_count }));
}

/** Sends the parts storage does not have whole (``done``: part number -> size), PARALLEL_PARTS at a time, their
 * URLs signed in batches as the parts are reached; stops between parts once ``cancelled()``. */
async function sendParts(file, slot, done, put, onProgress, cancelled) {
  const length = (n) => Math.min(slot.part_size, file.size - (n - 1) * slot.part_size);
  const todo = [];
  for (let n = 1; n <= slot.part_count; n++) if (done.get(n) !== length(n)) todo.push(n);
  const before = file.size - todo.reduce((sum, n) => sum + length(n), 0);
  const sending = new Map();
  let stored = before;
  const report = () => onProgress(before + [...sending.values()].reduce((a, b) => a + b, 0), file.size, stored);
  report();
  for (let first = 0; first < todo.length; first += 100) {
    const batch = todo.slice(first, first + 100);
    const { urls } = await call("sign_upload_parts", { video_key: slot.video_key, upload_id: slot.upload_id,
      size: file.size, parts: batch });
    let next = 0;
    const sender = async () => {
      while (next < batch.length && !cancelled()) {
        const n = batch[next++];
        const start = (n - 1) * slot.part_size;
        await put(urls[n], file.slice(start, start + length(n)), {}, (sent) => { sending.set(n, sent); report(); });
        stored += length(n);
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, batch.length) }, sender));
  }
}

/**
 * Send a video to storage through the URLs the API signs: one PUT for a small file, parts four at a time for
 * a large one. A large upload is remembered in this browser: choosing the same file again after a reload or a
 * dropped connection sends only the parts storage does not have. onProgress(sent, total, stored): stored counts
 * the parts storage has whole (a part cut off mid-way is sent again after a reload: only stored bytes are kept).
 * Returns {promise (the video_key), abort}; abort also drops the unfinished upload from storage.
 */
export function uploadVideo(file, onProgress) {
  const requests = new Set();
  let slot = null, cancelled = false;
  const put = (url, body, headers, onSent) => {
    const upload = putBody(url, body, headers, onSent);
    requests.add(upload);
    return upload.promise.finally(() => requests.delete(upload));
  };
  const promise = (async () => {
    const resumed = await resumable(file);
    slot = resumed?.slot;
    if (!slot) {
      slot = await call("generate_upload_url", { filename: file.name, content_type: file.type || undefined, size: file.size });
      if (slot.method === "PUT") {
        await put(slot.upload_url, file, slot.headers, (sent) => onProgress(sent, file.size, null));
        return slot.video_key;
      }
      rememberUpload(file, slot);
    }
    await sendParts(file, slot, resumed?.done || new Map(), put, onProgress, () => cancelled);
    await call("complete_upload", { video_key: slot.video_key, upload_id: slot.upload_id, size: file.size });
    forgetUpload();
    return slot.video_key;
  })();
  const abort = () => {
    cancelled = true;
    requests.forEach((request) => request.abort());
    if (slot?.upload_id) {
      forgetUpload();
      call("abort_upload", { video_key: slot.video_key, upload_id: slot.upload_id }).catch(() => {});
    }
  };
  return { promise, abort };
}

// PUT a body to a signed URL with progress events; returns {promise, abort}.
function putBody(url, body, headers, onSent) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onSent(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onSent(body.size); return resolve(); }
      let reason = `Storage refused the upload (HTTP ${xhr.status}).`;
      if (xhr.status === 403) reason = "The upload link expired or was refused. Try again to get a new link.";
      if (xhr.status === 412) reason = "This video was uploaded already. Choose the file again to start a new upload.";
      if (xhr.status === 413) reason = "The file is too large for the server.";
      if (xhr.status === 415) reason = "The server accepts video files only.";
      reject(new ApiError(reason, "upload_failed", xhr.status));
    };
    xhr.onerror = () => reject(new ApiError(
      "The upload did not reach storage: the network failed, or the storage's CORS rule does not allow this page. "
      + "Try again: what was sent is kept.", "upload_network", 0));
    xhr.onabort = () => reject(new ApiError("Upload cancelled.", "upload_cancelled", 0));
    xhr.send(body);
  });
  return { promise, abort: () => xhr.abort() };
}
