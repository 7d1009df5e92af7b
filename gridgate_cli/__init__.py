"""The `gridgate` command for data-center staff (outside the layer: it drives the emulator and flows)."""
