"""Project settings: vendor tool, FPGA part, clock — validated once, recorded in the project.

The settings are written into ``hlsforge_project.json`` in the project so that ``run_csim``
and ``build`` can work from the directory alone, and into ``project.tcl`` /
``hls_config.cfg`` for the vendor tools. Everything that reaches a Tcl or config file is
validated here against a strict pattern: the files never contain text a user could use to
inject a command.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import HlsforgeError

DEFAULT_PART = "xcvu13p-flga2577-2-e"
DEFAULT_CLOCK_PERIOD = 5.0
DEFAULT_CLOCK_UNCERTAINTY = "12.5%"
TOOLS = ("vitis", "vivado")
METADATA_FILE = "hlsforge_project.json"

_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_UNCERTAINTY_RE = re.compile(r"^(\d+(\.\d+)?)\s*(%|ns)?$")


class ProjectError(HlsforgeError):
    """A project cannot be written, read or built as asked."""


@dataclass(frozen=True)
class ProjectSettings:
    """What a vendor project needs besides the firmware."""

    name: str  # sanitized model name: file prefix and top function
    tool: str = "vitis"
    part: str = DEFAULT_PART
    clock_period: float = DEFAULT_CLOCK_PERIOD  # ns
    clock_uncertainty: str = DEFAULT_CLOCK_UNCERTAINTY  # "12.5%" or "0.6" (ns)
    n_inputs: int = 0  # flat values per event, all inputs together
    n_outputs: int = 0
    n_test_events: int = 0

    @property
    def uncertainty_tcl(self) -> str:
        """``set_clock_uncertainty`` argument: ``12.5%`` or a number of ns."""
        return self.clock_uncertainty.replace("ns", "").strip()

    @property
    def uncertainty_cfg(self) -> str:
        """``clock_uncertainty=`` value for hls_config.cfg: ``12.5%`` or ``0.6ns``."""
        u = self.clock_uncertainty.replace(" ", "")
        return u if u.endswith("%") else u.removesuffix("ns") + "ns"

    @property
    def clock_text(self) -> str:
        return f"{self.clock_period:g}"

    def to_json(self, estimate: dict[str, Any] | None = None) -> str:
        doc: dict[str, Any] = {"hlsforge_project": 1, **asdict(self)}
        if estimate is not None:
            doc["estimate"] = estimate  # hlsforge.estimate of the project's design (read-only)
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def make_settings(
    name: str,
    tool: str,
    part: str | None,
    clock_period: float | None,
    clock_uncertainty: str | float | None,
    **sizes: int,
) -> ProjectSettings:
    """Validate user-facing project options; errors say what is accepted."""
    tool = (tool or "vitis").lower()
    if tool not in TOOLS:
        raise ProjectError(f"unknown HLS tool {tool!r}; use one of: {', '.join(TOOLS)}")
    part = part or DEFAULT_PART
    if not isinstance(part, str) or not _PART_RE.match(part):
        raise ProjectError(
            f"invalid FPGA part {part!r}: expected a part name such as {DEFAULT_PART!r}"
        )
    period = DEFAULT_CLOCK_PERIOD if clock_period is None else clock_period
    try:
        period = float(period)
    except (TypeError, ValueError):
        raise ProjectError(f"clock period must be a number of ns, got {clock_period!r}") from None
    if not 0 < period < 1e6:
        raise ProjectError(f"clock period must be a positive number of ns, got {clock_period!r}")
    unc = DEFAULT_CLOCK_UNCERTAINTY if clock_uncertainty is None else clock_uncertainty
    unc_text = (
        f"{float(unc):g}"
        if isinstance(unc, (int, float)) and not isinstance(unc, bool)
        else str(unc).strip()
    )
    if not _UNCERTAINTY_RE.match(unc_text):
        raise ProjectError(
            f"invalid clock uncertainty {clock_uncertainty!r}: use a percentage of the period "
            "('12.5%') or nanoseconds ('0.6' or '0.6ns')"
        )
    return ProjectSettings(
        name=name, tool=tool, part=part, clock_period=period, clock_uncertainty=unc_text, **sizes
    )


def read_settings(project_dir: str | Path) -> ProjectSettings:
    """The settings recorded in a project written by ``write_project``."""
    path = Path(project_dir) / METADATA_FILE
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectError(
            f"{str(project_dir)!r} is not an hlsforge project (no {METADATA_FILE}); write one with "
            "hlsforge.projects.write_project or `hlsforge convert --backend hls`"
        ) from None
    except (OSError, ValueError) as e:
        raise ProjectError(f"cannot read {path}: {e}") from None
    doc.pop("hlsforge_project", None)
    doc.pop("estimate", None)
    try:
        return ProjectSettings(**doc)
    except TypeError as e:
        raise ProjectError(f"{path} is not a valid hlsforge project file: {e}") from None
