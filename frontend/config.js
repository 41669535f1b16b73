// Where the page finds the job API. Empty means "the server this page came from" (ergo serve).
// Hosting the page elsewhere (GitHub Pages, Netlify...): set the gateway's URL here,
// or open the page with ?api=https://your-gateway.example
export const API_BASE = "";
