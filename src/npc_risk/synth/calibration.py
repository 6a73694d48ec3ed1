"""`calibration_report`: measured magnitudes of a generated city beside the reference targets."""
from __future__ import annotations


def calibration_report(extract_dir, truth_dir):  # filled in below
    raise NotImplementedError
