"""Rasa input channels: they know protocols (signatures, formats, deadlines), not the utility's business."""
