// The task details form (what the video cannot show: load, coupling, ...), built from the server's schema
// (/api/info: task_details) in the worksheet's groups, and checked against it before a byte is sent.
import { $, h } from "./dom.js";

// One form per ``prefix`` (its inputs' ids begin with it): the upload's ("task"), and the re-score's (rescore.js).

export function renderTaskDetails(fields, root = $("#task-fields"), prefix = "task") {
  const groups = new Map();
  for (const field of fields) {
    if (!groups.has(field.group)) groups.set(field.group, []);
    groups.get(field.group).push(taskField(field, prefix));
  }
  root.replaceChildren(...[...groups].map(([name, inputs]) =>
    h("fieldset", { class: "task-group" }, h("legend", {}, name || "Other"), inputs)));
}

function taskField(field, prefix) {
  const id = `${prefix}-${field.name}`;
  if (field.type === "boolean") {
    const box = h("input", { type: "checkbox", name: field.name, id });
    box.checked = Boolean(field.default);
    return h("label", { class: "task-field" }, box, ` ${field.description}`);
  }
  const input = h("input", { type: "number", name: field.name, id, value: field.default ?? "", min: field.minimum, max: field.maximum,
    step: field.type === "integer" ? 1 : "any", "aria-describedby": `${id}-note` });
  const note = h("small", { id: `${id}-note`, class: "field-note" });
  input.addEventListener("input", () => checkField(field, input, note));
  return h("label", { class: "task-field" }, `${field.description} `, input, note);
}

/** {value} of a task detail as the server's schema takes it, with a note where it was left empty; or {problem}. */
function fieldValue(field, input) {
  if (field.type === "boolean") return { value: input.checked };
  const raw = input.value.trim();
  if (raw === "" && !input.validity.badInput) {
    const note = field.default == null ? "Left empty: not given." : `Left empty: the default, ${field.default}, is used.`;
    return { value: field.default, note };
  }
  const value = Number(raw);
  const problem = numberProblem(field, raw === "" ? NaN : value);
  return problem ? { problem } : { value };
}

/** What is wrong with a number typed for ``field`` (NaN: not a number), against the schema's type and range; or null. */
function numberProblem(field, value) {
  const name = `"${field.description}"`;
  const range = `from ${field.minimum ?? "any"} to ${field.maximum ?? "any"}`;
  if (!Number.isFinite(value)) return `${name} must be a number ${range}.`;
  if (field.type === "integer" && !Number.isInteger(value)) return `${name} must be a whole number ${range}.`;
  if ((field.minimum != null && value < field.minimum) || (field.maximum != null && value > field.maximum)) {
    return `${name} is ${value}; it must be ${range}.`;
  }
  return null;
}

function checkField(field, input, note) {
  const { problem, note: words } = fieldValue(field, input);
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  note.textContent = problem || words || "";
  note.classList.toggle("error", Boolean(problem));
  return problem;
}

/** Every task detail checked against the server's schema: the problems, in words. */
export function taskProblems(fields, prefix = "task") {
  return fields.filter((field) => field.type !== "boolean")
    .map((field) => checkField(field, $(`#${prefix}-${field.name}`), $(`#${prefix}-${field.name}-note`))).filter(Boolean);
}

/** The task details that differ from their defaults (what start_processing's params needs), or undefined. */
export function taskDetails(fields, prefix = "task") {
  const params = {};
  for (const field of fields) {
    const { value } = fieldValue(field, $(`#${prefix}-${field.name}`));
    if (value !== field.default) params[field.name] = value;
  }
  return Object.keys(params).length ? params : undefined;
}

/** Sets the form's inputs to a job's task details (``values``: those it was given; the others take their defaults). */
export function fillTaskDetails(fields, values, prefix = "task") {
  for (const field of fields) {
    const input = $(`#${prefix}-${field.name}`);
    const value = field.name in values ? values[field.name] : field.default;
    if (field.type === "boolean") input.checked = Boolean(value);
    else input.value = value ?? "";
  }
}
