"""What a gate device is."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    TABLET = "tablet"  # the guard's tablet: scans and shows the answer
    SENSOR = "sensor"  # a fixed scanner or door sensor that posts scans by itself
