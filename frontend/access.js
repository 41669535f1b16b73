// The access token: typed in (or brought by a link's #token=...), kept in this browser only, checked with the server.
import * as api from "./api.js";
import { $, show, text } from "./dom.js";

/** What an "unauthorized" answer means here: no token yet, or a saved one the server does not accept. */
export function tokenRefused() {
  if (!api.getToken()) return "This server needs an access token. Enter it above, then try again.";
  text("#token-saved", "The server did not accept this token.");
  return "The server did not accept the saved access token. Check it above (or ask for a new one), then try again.";
}

export function askForToken() {
  showAccess(true);
  $("#token-input").focus();
}

export function showAccess(visible) {
  show("#access-section", visible);
  $("#token-toggle").setAttribute("aria-expanded", String(visible));
}

/** A token in the link's fragment (#token=..., which browsers never send to a server) is saved, then removed from the address. */
export function tokenFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.get("token")) return;
  api.setToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}

/** Save the typed token and ask the server at once whether it takes it (health needs a valid token). */
async function saveToken() {
  api.setToken($("#token-input").value.trim());
  if (!api.getToken()) return text("#token-saved", "Forgotten.");
  text("#token-saved", "Saved in this browser; checking it with the server…");
  try {
    await api.call("health");
    text("#token-saved", "Saved in this browser; the server accepts it.");
  } catch (error) {
    text("#token-saved", error.code === "unauthorized" ? "Saved, but the server did not accept this token: check it."
      : `Saved in this browser (the server could not check it now: ${error.message})`);
  }
}

/** The panel's controls; ``onSaved`` runs once a new token is saved (the views ask the server again with it). */
export function initAccess(onSaved) {
  $("#token-toggle").addEventListener("click", () => showAccess($("#access-section").hidden));
  $("#token-input").value = api.getToken();
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await saveToken();
    onSaved();
  });
  $("#token-clear").addEventListener("click", () => {
    api.setToken("");
    $("#token-input").value = "";
    text("#token-saved", "Forgotten.");
  });
}
