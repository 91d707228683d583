"""Memory footprint of the bundled model at each quantization level (no training).

Prints, for fp32, 8-bit, 4-bit NF4 and 4-bit FP4: the whole-model footprint, the bytes of the
encoder's linear layers (the ones bitsandbytes quantizes) and both as a ratio of fp32.
The last line is ``4bit-nf4 linear-layer ratio <r>`` (target: at most 0.16).

    python bench/footprint.py
"""

from __future__ import annotations

from labkit.measure import MB, footprint_bytes, linear_layer_bytes
from labkit.models import count_parameters, load_model

LEVELS = [None, "8bit", "4bit-nf4", "4bit-fp4"]


def main() -> None:
    rows = {}
    for level in LEVELS:
        model, _ = load_model(quantization=level)
        layer_bytes, layer_params = linear_layer_bytes(model)
        rows[level or "fp32"] = (footprint_bytes(model), layer_bytes, count_parameters(model)[1])
    base_total, base_layers, _ = rows["fp32"]
    print(
        f"{'level':<9} {'model MB':>9} {'ratio':>6} {'linear MB':>10} {'ratio':>6} {'params':>11}"
    )
    for level, (total, layers, params) in rows.items():
        print(f"{level:<9} {total / MB:>9.1f} {total / base_total:>6.3f} {layers / MB:>10.1f} "
              f"{layers / base_layers:>6.3f} {params:>11,}")  # fmt: skip
    print("(the word embeddings, 11.7M parameters, stay in fp32 at every level)")
    print(f"4bit-nf4 linear-layer ratio {rows['4bit-nf4'][1] / base_layers:.3f}")


if __name__ == "__main__":
    main()
