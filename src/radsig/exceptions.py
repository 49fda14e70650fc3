"""Typed exceptions and warnings of radsig.

Every error a user can cause names the thing (case, file, key), what was allowed,
what was received and, where possible, the fix.
"""

from __future__ import annotations


class RadsigError(Exception):
    """Base class of every radsig error that is the user's input, not a bug."""


class ConfigError(RadsigError, ValueError):
    """A settings, parameter or study file is invalid (unknown key, bad value, malformed YAML)."""


class CaseError(RadsigError):
    """A problem with one case's input; carries the case id and file when known."""

    def __init__(self, message: str, *, case: str | None = None, path: str | None = None,
                 stage: str | None = None) -> None:
        self.case = case
        self.path = path
        self.stage = stage
        prefix = []
        if case:
            prefix.append(f"case {case}")
        if path:
            prefix.append(str(path))
        text = f"{': '.join(prefix)}: {message}" if prefix else message
        super().__init__(text)
        self.message = message


class ImageReadError(CaseError):
    """An image or mask file is missing, unreadable or corrupt."""


class GeometryMismatchError(CaseError):
    """Image and mask (or two modalities) do not share a compatible geometry."""


class EmptyMaskError(CaseError):
    """The region of interest holds no voxel (or none after re-segmentation)."""


class LabelNotFoundError(CaseError):
    """The requested label or ROI name does not exist in the mask."""


class NonFiniteValueError(CaseError):
    """NaN or infinite intensities inside the region of interest."""


class DicomError(CaseError):
    """A DICOM folder or file cannot be used as asked."""


class MissingDicomTagError(DicomError):
    """A DICOM tag needed for a computation (e.g. SUV) is missing."""


class ModelFileError(RadsigError, ValueError):
    """A model file is tampered with, of the wrong version or does not match the data."""


class StatisticsError(RadsigError, ValueError):
    """Input to a statistical function cannot give a meaningful answer (one class, constant score…)."""


class RadsigWarning(UserWarning):
    """Base class of radsig warnings."""


class FeatureWarning(RadsigWarning):
    """A feature or family could not be computed for a case and is reported as missing."""


class InputWarning(RadsigWarning):
    """Suspicious but usable input (several labels, a non-binary mask, NaN voxels, a restacked
    DICOM series …): the message names the file, the cause and the rule radsig applied."""


class ConvergenceWarning(RadsigWarning):
    """An iterative fit did not converge."""
