"""The real variant: an onnxruntime session, loaded once per process from a checked file.

The session is onnxruntime's own, built here: rembg is not imported. Importing it brought
pymatting's alpha matting (numba, llvmlite, scipy, scikit-image), which the pipeline never
runs: 425 MB of the worker image, 0.5 s of every start, 170 MB of every process, and a ~40 s
JIT compile wherever numba's cache was missing (docs/deployment.md, "A lean worker"). rembg
stays the reference the tests and benchmarks compare against: devtools/rembg_reference.py
builds rembg's session from the same file with the same options.

The file comes from U2NET_HOME after an MD5 check (worker.models.runtime), never from a
downloader. The pre- and post-processing around `session.run` is our own: rembg's
`predict` resizes with full LANCZOS at both ends and normalises in float64, ~50 ms on a
2 MP photo (7% of the u2net run itself). Here the input is box-reduced before LANCZOS
(`INPUT_REDUCING_GAP`) and the mask comes back up bilinearly (IoU 0.998 for u2netp, 0.9995
for u2net against rembg's published outputs; a plain bilinear downscale instead dropped
u2netp to 0.96). See tests/worker/test_reference.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from worker.models.registry import ModelSpec

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

# rembg stretches every prediction to 0..1 (min-max). On a blank photo u2net's
# raw output peaks at 0.03, and the stretch turned that into a "subject" covering
# half the frame. A prediction with no pixel at least this confident is no subject.
MIN_SUBJECT_CONFIDENCE = 0.5
# onnxruntime's ERROR level: what importing rembg used to set for the whole process
# (`ort.set_default_logger_severity(3)`), here for our sessions only.
_ORT_LOG_ERRORS_ONLY = 3
# The model input is box-reduced by a whole factor until it is at most this many times the
# input size, then LANCZOS does the rest. 3 left the reference masks unchanged (IoU 1.0);
# 1.5 takes a 2 MP photo's input from 16 ms to 6 ms and left the evaluation set's cascade
# where it was (mean IoU delta +0.0012, worst category -0.0011 against -0.0010; u2netp's
# mean IoU 0.9466 against 0.9468). 1.0, a box filter all the way, cost u2netp 0.002 of IoU
# on the reference photo. docs/performance.md, "Where the cascade's time goes".
INPUT_REDUCING_GAP = 1.5


class OnnxMaskModel:
    """One model of the chain: a preloaded onnxruntime session and its input geometry."""

    def __init__(self, spec: ModelSpec, session: ort.InferenceSession) -> None:
        self.name = spec.name
        self.spec = spec
        self.session = session
        self._input_name = session.get_inputs()[0].name
        # Only the fused mask is read: the side outputs' sigmoids are not computed.
        self._output_names = [session.get_outputs()[0].name]
        self._mean = np.asarray(spec.mean, dtype=np.float32)
        self._std = np.asarray(spec.std, dtype=np.float32)

    def prepare(self, image: Image.Image) -> dict[str, np.ndarray]:
        """The model's input tensor, normalised as rembg normalises it."""
        small = image.resize(
            self.spec.input_size, Image.Resampling.LANCZOS, reducing_gap=INPUT_REDUCING_GAP
        )
        pixels = np.asarray(small, dtype=np.float32)
        pixels = pixels / max(float(pixels.max()), 1e-6)
        pixels = (pixels - self._mean) / self._std
        return {self._input_name: pixels.transpose(2, 0, 1)[np.newaxis]}

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The raw onnxruntime call: the first output's first channel at the input size."""
        outputs: list[np.ndarray] = self.session.run(self._output_names, feed)
        first_channel: np.ndarray = outputs[0][0, 0]
        return first_channel

    def predict_mask(self, image: Image.Image) -> Image.Image:
        prediction = self.run(self.prepare(image))
        low, high = float(prediction.min()), float(prediction.max())
        if high < MIN_SUBJECT_CONFIDENCE:
            return Image.new("L", image.size, 0)
        scaled = (prediction - low) / max(high - low, 1e-6)
        mask = Image.fromarray((scaled.clip(0, 1) * 255).astype(np.uint8))
        return mask.resize(image.size, Image.Resampling.BILINEAR)


def load_onnx_model(spec: ModelSpec, path: Path, *, threads: int) -> OnnxMaskModel:
    """The model from a file already checked (worker.models.runtime does it, once per start)."""
    # Imported here: only a process that loads a model pays for onnxruntime.
    import onnxruntime as ort

    log.info("loading model %s from %s (intra-op threads: %s)", spec.name, path, threads or "auto")
    session = ort.InferenceSession(
        str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
    return OnnxMaskModel(spec, session)


def session_options(threads: int) -> ort.SessionOptions:
    """What every session of the chain runs with (0 threads: onnxruntime's own choice)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Memory-pattern planning pre-allocates one block for every activation of a
    # run. `make bench`'s process peaked at 1189 MB with it and 964 MB without, no
    # slower (docs/performance.md). It is what keeps a worker process near 1 GB.
    options.enable_mem_pattern = False
    options.log_severity_level = _ORT_LOG_ERRORS_ONLY
    return options
