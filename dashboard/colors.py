"""The dashboard's palette: one colour per family (frontier, compare) and per op type
(designer), everywhere, and the page's fonts and greys (as dashboard/assets/style.css)."""
from __future__ import annotations

FAMILY_COLORS = {
    "MobileNetV2": "#E4572E", "MobileNetV1": "#3A6EA5", "ShuffleNetV1": "#2E9E6A",
    "NASNet-A-Mobile": "#8E5BB5", "SSD-MobileNetV2": "#D9A21B", "SSDLite-MobileNetV2": "#C2185B",
    "SSDLite-MobileNetV1": "#00838F", "MobileNetV3-Large": "#D4A017", "MobileNetV3-Small": "#E9C46A",
    "ShuffleNetV2": "#17A2B8", "EfficientNet-B0": "#6D4C41",
}
EXTRA_COLORS = ("#6D4C41", "#546E7A", "#7CB342", "#F06292", "#5C6BC0", "#26A69A", "#FFA726")

OP_NAMES = {
    "conv": "conv k×k", "grouped_conv": "group conv", "depthwise": "depthwise",
    "pointwise": "pointwise 1×1", "grouped_pointwise": "grouped 1×1", "fc": "fully connected", "pool": "pooling", "add": "add",
    "concat": "concat", "shuffle": "shuffle", "shift": "shift", "act": "activation",
    "bn": "batch norm", "input": "input", "mul": "SE scale", "slice": "channel split",
}
OP_COLORS = {
    "conv": "#3A6EA5", "grouped_conv": "#8E5BB5", "depthwise": "#2E9E6A",
    "pointwise": "#F28E2B", "grouped_pointwise": "#B07CC6", "fc": "#E15759", "pool": "#9C755F", "add": "#A0A4AB",
    "concat": "#D9A21B", "shuffle": "#4DB6AC", "shift": "#FF9DA7", "act": "#C9CDD3",
    "bn": "#C9CDD3", "input": "#D5D8DD", "mul": "#76B7B2", "slice": "#BAB0AC",
}

FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1F2430", "#6B7280", "#E8EAF0"


def family_color(name: str, index: int = 0) -> str:
    """A family's colour; a spec outside the palette gets one of EXTRA_COLORS by its index."""
    return FAMILY_COLORS.get(name) or EXTRA_COLORS[index % len(EXTRA_COLORS)]
