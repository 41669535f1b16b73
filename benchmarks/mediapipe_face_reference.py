"""MediaPipe's own face detection over frames: the reference ergo's BlazeFace (``pipeline.pose.blazeface``) is
compared with.

    .reference-venv/bin/python benchmarks/mediapipe_face_reference.py FRAMES.npy OUT.json

Runs in MediaPipe's own environment (``make reference``), for tests and benchmarks only, never at run time.
``FRAMES.npy`` holds (n, h, w, 3) uint8 RGB frames; each goes through ``mp.solutions.face_detection`` with the
short-range model (``model_selection=0``) and its default confidence (0.5).  ``OUT.json`` holds, per frame, the
faces found: ``score``, ``box`` (x1, y1, x2, y2 in pixels) and ``keypoints`` (6 x, y in pixels).
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def faces(frames: np.ndarray) -> list[list[dict]]:
    from mediapipe.python.solutions import face_detection

    answers = []
    with face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as detector:
        for frame in frames:
            height, width = frame.shape[:2]
            found = detector.process(np.ascontiguousarray(frame)).detections or []
            answers.append([{"score": float(face.score[0]),
                             "box": [(box := face.location_data.relative_bounding_box).xmin * width, box.ymin * height,
                                     (box.xmin + box.width) * width, (box.ymin + box.height) * height],
                             "keypoints": [[point.x * width, point.y * height] for point in face.location_data.relative_keypoints]}
                            for face in found])
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", help=".npy of (n, h, w, 3) uint8 RGB frames")
    parser.add_argument("out", help="where to write the faces found, as JSON")
    args = parser.parse_args()
    with open(args.out, "w") as out:
        json.dump(faces(np.load(args.frames)), out)


if __name__ == "__main__":
    main()
