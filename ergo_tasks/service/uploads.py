"""The upload actions: a video goes straight to storage, in one signed PUT or in parts.

A small video gets one PUT URL signed for its exact size and only while its key is new (it can never
replace a video later).  A large one is an upload in parts: signed URLs per part, the parts received so
far (to resume after a reload), and a completion that joins them once every part is there at its size.
Every action checks first that the upload is the caller's; another client's upload is answered as if it
were not there.  The part arithmetic lives here too: the configured part size, grown to stay within S3's
part count.
"""

from __future__ import annotations

import re

from statestore import ObjectInfo, ObjectNotFound, ObjectStore, PreconditionFailed, UploadedPart

from ..analysis.keys import upload_key, upload_owned_by
from .errors import ServiceError
from .probe import check_video
from .requests import Caller, SignPartsRequest, SizedUploadRequest, UploadPartsRequest, UploadRequest
from .settings import MAX_PARTS, MIN_PART_BYTES, ServiceSettings

#: Video file extensions the service accepts, and the content type each is stored with.
VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "avi": "video/x-msvideo", "mkv": "video/x-matroska",
               "webm": "video/webm", "m4v": "video/x-m4v"}
_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}/[A-Za-z0-9._-]{1,80}$")
#: What a request about an upload that is not there, or not the caller's, is told (the same words for both).
UPLOAD_GONE = "That upload is not in progress (completed, cancelled or expired); upload the video again."
NO_UPLOAD = "No upload was found for that video_key; upload the video first."


def part_length(size: int, part_size: int, number: int) -> int:
    """Bytes in part ``number`` (1-based) of a file of ``size`` bytes cut into ``part_size`` pieces."""
    return min(part_size, size - (number - 1) * part_size)


class UploadActions:
    """The five upload actions of :class:`~ergo_tasks.service.actions.JobService`, and the checks
    ``start_processing`` shares with them (whose upload it is, how large it may be, whether it is a video)."""

    store: ObjectStore
    settings: ServiceSettings

    def generate_upload_url(self, request: UploadRequest, caller: Caller) -> dict:
        content_type = _video_type(request)
        self._check_size(request.size)
        key = upload_key(request.filename, caller.owner)
        expires = self.settings.upload_url_expiry_s
        common = {"video_key": key, "size": request.size, "expires_in": expires, "content_type": content_type,
                  "max_bytes": self.settings.max_upload_bytes}
        if request.size <= self.settings.upload_part_bytes:
            # One PUT, signed for this length and only while the key is new: it cannot replace the video later.
            url = self.store.presign_put(key, expires, content_type, size=request.size, new_only=True)
            return {**common, "method": "PUT", "upload_url": url, "headers": {"Content-Type": content_type, "If-None-Match": "*"}}
        part_size, count = self._parts(request.size)
        return {**common, "method": "PARTS", "upload_id": self.store.start_upload(key, content_type), "part_size": part_size,
                "part_count": count}

    def sign_upload_parts(self, request: SignPartsRequest, caller: Caller) -> dict:
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        part_size, count = self._parts(request.size)
        if not all(1 <= number <= count for number in request.parts):
            raise ServiceError(f"Part numbers run from 1 to {count} for a file of this size.")
        self._uploaded_parts(request, caller)  # the upload must be in progress
        expires = self.settings.upload_url_expiry_s
        urls = {str(number): self.store.presign_part(request.video_key, request.upload_id, number,
                                                     part_length(request.size, part_size, number), expires)
                for number in request.parts}
        return {"urls": urls, "expires_in": expires}

    def list_upload_parts(self, request: UploadPartsRequest, caller: Caller) -> dict:
        return {"parts": [{"number": part.number, "size": part.size} for part in self._uploaded_parts(request, caller)]}

    def complete_upload(self, request: SizedUploadRequest, caller: Caller) -> dict:
        # ownership first: another client's completed upload must not pass for a retry of theirs
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        received = self._parts_to_join(request, caller)
        if received is not None:
            self._join(request, received)
        check_video(self.store, request.video_key)  # a retried completion too: its first answer may have been this
        return {"video_key": request.video_key, "size": request.size}

    def abort_upload(self, request: UploadPartsRequest, caller: Caller) -> dict:
        self._uploaded_parts(request, caller)  # a forged or finished upload is an error, not "aborted"
        self.store.abort_upload(request.video_key, request.upload_id)
        return {"aborted": True}

    def _uploaded_video(self, video_key: str, caller: Caller) -> ObjectInfo:
        """The caller's uploaded video at ``video_key``, checked to be there, within the limit and a video."""
        self._check_upload_key(video_key, caller, NO_UPLOAD)
        try:
            upload = self.store.head(video_key)
        except ObjectNotFound:
            raise ServiceError(NO_UPLOAD, code="upload_not_found") from None
        if upload.size == 0:
            raise ServiceError("The uploaded file is empty.")
        self._check_size(upload.size)
        check_video(self.store, video_key)
        return upload

    def _parts_to_join(self, request: SizedUploadRequest, caller: Caller) -> dict[int, UploadedPart] | None:
        """The parts storage has, by number; None when the upload was completed already (a retry after its
        answer was lost finds the video there: that is the answer it missed)."""
        try:
            return {part.number: part for part in self._uploaded_parts(request, caller)}
        except ServiceError:
            if self._is_stored(request):
                return None
            raise

    def _join(self, request: SizedUploadRequest, received: dict[int, UploadedPart]) -> None:
        """Join the parts into the video once every one is there at its size; never over an existing video."""
        part_size, count = self._parts(request.size)
        missing = [n for n in range(1, count + 1) if n not in received or received[n].size != part_length(request.size, part_size, n)]
        if missing:
            listed = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise ServiceError(f"The upload is not complete: part {listed} of {count} is missing or the wrong size; send it again.",
                               code="upload_incomplete")
        try:
            self.store.complete_upload(request.video_key, request.upload_id, [received[n] for n in range(1, count + 1)])
        except (PreconditionFailed, ObjectNotFound):
            # a completion retried while the first was joining the parts finds the video there already: that is success
            if not self._is_stored(request):
                raise ServiceError("This upload was completed or replaced already.", code="already_uploaded") from None

    def _check_upload_key(self, video_key: str, caller: Caller, missing: str) -> None:
        """A well-formed upload key, made for this caller (operators may act on any): another client's upload
        is answered ``missing``, as if it were not there."""
        if not _UPLOAD_KEY.match(video_key):
            raise ServiceError("video_key must be a key returned by generate_upload_url.")
        if not caller.operator and not upload_owned_by(video_key, caller.owner):
            raise ServiceError(missing, code="upload_not_found")

    def _is_stored(self, request: SizedUploadRequest) -> bool:
        """Whether the upload's video is in storage with the size it was sent with (its parts joined)."""
        try:
            return self.store.head(request.video_key).size == request.size
        except ObjectNotFound:
            return False

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_upload_bytes:
            limit = self.settings.max_upload_bytes / 1024**3
            raise ServiceError(f"The video is larger than the {limit:g} GB limit.", code="file_too_large")

    def _parts(self, size: int) -> tuple[int, int]:
        """(part size, part count) for a file of ``size`` bytes, which must be within the limit: the configured
        part size, grown to stay within S3's part count."""
        self._check_size(size)
        least = -(-size // MAX_PARTS)
        part_size = max(self.settings.upload_part_bytes, -(-least // MIN_PART_BYTES) * MIN_PART_BYTES)
        return part_size, -(-size // part_size)

    def _uploaded_parts(self, request: UploadPartsRequest, caller: Caller) -> list[UploadedPart]:
        self._check_upload_key(request.video_key, caller, UPLOAD_GONE)
        try:
            return self.store.uploaded_parts(request.video_key, request.upload_id)
        except ObjectNotFound:
            raise ServiceError(UPLOAD_GONE, code="upload_not_found") from None


def _video_type(request: UploadRequest) -> str:
    """The content type a video is stored with, from its file name; a file that is not a video is refused in words."""
    extension = request.filename.rsplit(".", 1)[-1].lower() if "." in request.filename else ""
    if extension not in VIDEO_TYPES:
        raise ServiceError(f"Only video files can be uploaded ({', '.join(VIDEO_TYPES)}).", code="invalid_file_type")
    if request.content_type and not request.content_type.lower().startswith(("video/", "application/octet-stream")):
        raise ServiceError(f"'{request.content_type[:40]}' is not a video content type.", code="invalid_file_type")
    return VIDEO_TYPES[extension]
