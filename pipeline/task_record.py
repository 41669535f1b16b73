"""The task record: which station and task an assessment belongs to, who made it, and notes in words.

An assessment belongs to a station and a task, and is revisited, corrected and compared; the record says which,
on the page, in the PDF and in the workbook.  It is set with the upload and may be edited later without analysing
anything again (the scores never depend on it).  This model is its one definition: the API's requests, the job's
status document, the CLI's flags, the page's form (through ``/api/info``) and the report writers all take it from
here.  Every field is a short line of text except the notes; unset fields are empty strings.
"""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The longest a one-line field may be, and the notes (characters).
LINE_LIMIT = 100
NOTES_LIMIT = 2000
#: Each field in words, in the order a reader meets them (the PDF, the workbook, the page's form).
LABELS = {"station": "Station", "task": "Task", "department": "Department", "assessor": "Assessor", "notes": "Notes"}
#: What the notes may hold that a one-line field may not: line breaks and tabs.
NOTES_WHITESPACE = frozenset("\n\t")
#: Marks that reorder the text around them (right-to-left overrides and isolates): they can hide what a line says.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class TaskRecord(BaseModel):
    """Station, task, department, assessor (one line each) and free notes; stripped, without control characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    station: str = Field("", max_length=LINE_LIMIT, description="the work station, e.g. 'Line 3, packing'")
    task: str = Field("", max_length=LINE_LIMIT, description="the task filmed, e.g. 'boxing parcels'")
    department: str = Field("", max_length=LINE_LIMIT, description="the department or area")
    assessor: str = Field("", max_length=LINE_LIMIT, description="who made the assessment")
    notes: str = Field("", max_length=NOTES_LIMIT, description="free notes (several lines)")

    @field_validator("station", "task", "department", "assessor")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _refuse_control(value, allowed=frozenset())

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        return _refuse_control(value.replace("\r\n", "\n").replace("\r", "\n"), allowed=NOTES_WHITESPACE)

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())

    def rows(self) -> list[tuple[str, str]]:
        """The fields given, as (label, value) for a reader, in :data:`LABELS`' order."""
        return [(label, value) for name, label in LABELS.items() if (value := getattr(self, name))]


def _refuse_control(value: str, allowed: frozenset[str]) -> str:
    """``value`` unless it holds a control character (other than ``allowed``): they would break a line in a table,
    a cell or a PDF, or hide text from the reader."""
    for char in value:
        if (unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS) and char not in allowed:
            kind = ("a line break" if char in "\r\n" else f"U+{ord(char):04X}, a mark that reorders text" if char in BIDI_CONTROLS
                    else f"the control character U+{ord(char):04X}")
            where = " (only the notes may have several lines)" if char in "\r\n" else ""
            raise ValueError(f"must not contain {kind}{where}")
    return value


def form_fields() -> list[dict]:
    """The record's fields as a form needs them (``/api/info``): name, label, limit, and whether it has lines."""
    return [{"name": name, "label": LABELS[name], "max_length": NOTES_LIMIT if name == "notes" else LINE_LIMIT,
             "multiline": name == "notes", "description": field.description}
            for name, field in TaskRecord.model_fields.items()]
