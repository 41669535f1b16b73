// Where the page finds the job API. Empty means "the server this page came from" (ergo serve).
// Hosting the page elsewhere (GitHub Pages, Netlify...): set the gateway's URL here.
export const API_BASE = "";
// Other API origins a link may name with ?api=https://... (a staging gateway, say). Any other ?api= is
// ignored, so a crafted link cannot send this browser's token to a stranger's server.
export const ALLOWED_API_ORIGINS = [];
