// The task record (station, task, department, assessor, notes): a fieldset of the upload form, sent with
// start_processing, and on the results the record as saved with an "Edit task record" form that saves through
// update_record (the server writes the PDF report and the workbook again; nothing is analysed again). The fields, their
// labels and their limits come from the server's one model (/api/info: task_record).
import * as api from "./api.js";
import { $, button, h, show } from "./dom.js";
import { state } from "./state.js";

/** Whether ``value`` holds a character the server refuses: a control character (in the notes, line breaks and tabs
 * are kept), or a mark that reorders text (pipeline/task_record.py). */
function refused(value, multiline) {
  return [...value].some((char) => {
    const code = char.codePointAt(0);
    if (multiline && (char === "\n" || char === "\r" || char === "\t")) return false;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
  });
}

const fields = () => state.info?.task_record || [];

/** One input per field, ids ``${prefix}-${name}``, holding ``values``. */
function recordInputs(prefix, values = {}) {
  return fields().map((field) => {
    const id = `${prefix}-${field.name}`;
    const input = field.multiline
      ? h("textarea", { id, name: field.name, rows: 3, maxlength: field.max_length, "aria-describedby": `${id}-note` })
      : h("input", { id, name: field.name, type: "text", maxlength: field.max_length, autocomplete: "off", "aria-describedby": `${id}-note` });
    input.value = values[field.name] || "";
    const note = h("small", { id: `${id}-note`, class: "field-note" }, `at most ${field.max_length} characters`);
    return h("div", { class: `record-field${field.multiline ? " record-notes" : ""}` }, h("label", { for: id }, field.label), input, note);
  });
}

/** The record typed under ``prefix``, and what the server would refuse in it, in words. */
function readRecord(prefix) {
  const record = {};
  const problems = [];
  for (const field of fields()) {
    const input = $(`#${prefix}-${field.name}`);
    const value = input.value.trim();
    const bad = refused(value, field.multiline);
    input.setAttribute("aria-invalid", String(bad || value.length > field.max_length));
    if (bad) problems.push(`"${field.label}" holds a character that cannot be kept (a control character${field.multiline ? "" : " or a line break"}).`);
    else if (value.length > field.max_length) problems.push(`"${field.label}" is ${value.length} characters; at most ${field.max_length}.`);
    record[field.name] = value;
  }
  return { record, problems };
}

// -- the upload form ----------------------------------------------------------------------------------------------
/** The upload form's record fields, holding ``values`` (a record typed for an upload that stopped, resumed now). */
export function renderRecordFields(values = {}) {
  $("#record-fields").replaceChildren(...recordInputs("record", values));
}

/** The record for start_processing: {record} (undefined when nothing was typed), or {problems} in words. */
export function uploadRecord() {
  const { record, problems } = readRecord("record");
  if (problems.length) return { problems };
  return { record: Object.values(record).some(Boolean) ? record : undefined };
}

// -- the results --------------------------------------------------------------------------------------------------
/** The job's record as saved, and the control that edits it (the server's job view always has ``record``). */
export function renderRecord(status) {
  const record = status.record || {};
  const given = fields().filter((field) => record[field.name]);
  const list = given.length
    ? h("dl", { class: "record-list" }, given.flatMap((field) => [h("dt", {}, field.label), h("dd", { "data-field": field.name }, record[field.name])]))
    : h("p", { class: "muted" }, "No task record: add the station, the task and who assessed it.");
  $("#record-view").replaceChildren(h("h3", { id: "record-title" }, "Task record"), list,
    button("Edit task record", () => openEditor(status), { id: "edit-record", "aria-expanded": "false", "aria-controls": "record-form" }),
    h("p", { id: "record-saved", class: "muted", role: "status" }));
}

function openEditor(status) {
  $("#edit-record").setAttribute("aria-expanded", "true");
  show("#edit-record", false);
  const error = h("p", { id: "record-error", class: "error", role: "alert", hidden: true });
  const form = h("form", { id: "record-form", class: "record-form", "aria-labelledby": "record-title" },
    ...recordInputs("edit-record", status.record || {}), error,
    h("button", { type: "submit", class: "primary" }, "Save task record"),
    button("Cancel", () => renderRecord(status)));
  form.addEventListener("submit", (event) => { event.preventDefault(); saveRecord(status, form); });
  $("#record-view").append(form);
  form.querySelector("input, textarea").focus();
}

async function saveRecord(status, form) {
  const { record, problems } = readRecord("edit-record");
  const error = $("#record-error");
  error.textContent = problems.join(" ");
  error.hidden = !problems.length;
  if (problems.length) return;
  for (const control of form.elements) control.disabled = true;
  try {
    const answer = await api.call("update_record", { job_id: status.job_id, record });
    Object.assign(status, { record: answer.job_status.record });
    renderRecord(status);
    $("#record-saved").textContent = answer.message;
    $("#edit-record").focus();
  } catch (failure) {
    for (const control of form.elements) control.disabled = false;
    error.textContent = `Not saved: ${failure.message}`;
    error.hidden = false;
  }
}
