// The job API, as the page uses it. The page holds no secret: an operator's token is typed
// in and kept in this browser only.
import { API_BASE } from "./config.js";

const TOKEN_KEY = "ergo.token";

export class ApiError extends Error {
  constructor(message, code, httpStatus) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

export function apiBase() {
  const fromQuery = new URLSearchParams(location.search).get("api");
  return (fromQuery || API_BASE || "").replace(/\/$/, "");
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

// PUT a file to a signed URL with progress events; returns {promise, abort}.
export function uploadFile(url, file, contentType, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let reason = `Storage refused the upload (HTTP ${xhr.status}).`;
      if (xhr.status === 403) reason = "The upload link expired or was refused. Try again to get a new link.";
      if (xhr.status === 413) reason = "The file is too large for the server.";
      if (xhr.status === 415) reason = "The server accepts video files only.";
      reject(new ApiError(reason, "upload_failed", xhr.status));
    };
    xhr.onerror = () => reject(new ApiError(
      "The upload did not reach storage: the network failed, or the storage's CORS rule does not allow this page.",
      "upload_network", 0));
    xhr.onabort = () => reject(new ApiError("Upload cancelled.", "upload_cancelled", 0));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}
