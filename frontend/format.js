// Numbers in words for people: sizes, durations, moments in the video, names from the results, costs.

/** A snake_case name from the results, for people. */
export const readable = (name) => name.replaceAll("_", " ");

export function humanBytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A duration to the second (1:05). */
export function formatTime(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A moment in the video to a tenth of a second, as the result files give it (0:11.5). */
export function formatMoment(seconds) {
  const tenths = Math.max(0, Math.round(seconds * 10));
  const s = Math.floor(tenths / 10);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}.${tenths % 10}`;
}

export function ordinal(n) {
  const tens = n % 100, units = n % 10;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[units] || "th";
  return `${n}${suffix}`;
}

export const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** What a job has cost as the server counts it (its status's ``cost``: worker time, and its price where the
 * server has one), or "" before a worker has taken it up. */
export function costWords(cost) {
  if (!cost?.gpu_seconds) return "";
  const time = `${formatTime(cost.gpu_seconds)} of worker time`;
  if (!cost.price_per_second) return time;
  const usd = cost.estimated_usd;
  return `${time} (${usd < 0.01 ? "under $0.01" : `about $${usd.toFixed(2)}`})`;
}
