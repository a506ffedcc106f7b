"""The luminosity view: what S/√B one histogram of all selected events has at a luminosity, and back.

A sample point with cross section σ (pb) and selection efficiency ε gives ``N = σ·ε·1000·L`` selected
events at integrated luminosity L (fb⁻¹; 1 pb = 1000 fb). The background is the sum over the
background sample points, so one histogram of every selected event at L has

    S/√B = σ_s ε_s · 1000 L / √(Σ_b σ_b ε_b · 1000 L) ∝ √L,

and the luminosity that gives a target S/√B = z is ``L = z² · R_B / R_S²`` with the rates
``R = σ·ε·1000`` in fb. The selection efficiency is the weighted fraction of generated events that
pass the study selection: ``Σ_passed w / sum_weights`` (``sum_weights`` from the table metadata,
i.e. the weight of every generated event, also the ones rejected before the table was written).

A dataset histogram with B background events corresponds to ``L_B = B / R_B``: the datasets at
fixed S/√B can be read as "one histogram of all events at L_B", with the signal scaled as needed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

__all__ = ["LuminosityView", "SampleRate", "luminosity_for", "luminosity_view", "s_over_sqrt_b_at"]


def __dir__() -> list[str]:
    return list(__all__)


@dataclasses.dataclass(frozen=True)
class SampleRate:
    """Cross section and selection efficiency of one sample point.

    Attributes:
        sample: sample name.
        point_id: scan point.
        role: ``"signal"`` or ``"background"``.
        cross_section_pb: σ of the generated process (pb).
        selection_efficiency: weighted fraction of generated events passing the selection.
        selected_events: events in the pool that pass the selection.
    """

    sample: str
    point_id: str
    role: str
    cross_section_pb: float
    selection_efficiency: float
    selected_events: int = 0

    @property
    def rate_fb(self) -> float:
        """Selected cross section σ·ε in fb (= expected selected events per fb⁻¹)."""
        return self.cross_section_pb * self.selection_efficiency * 1000.0


def s_over_sqrt_b_at(signal_rate_fb: float, background_rate_fb: float, luminosity_fb: float) -> float:
    """S/√B of one histogram of all selected events at ``luminosity_fb``.

    Example: 10 fb of selected signal over 10⁴ fb of background at 139 fb⁻¹
        >>> round(s_over_sqrt_b_at(10.0, 1e4, 139.0), 3)
        1.179
    """
    if background_rate_fb <= 0:
        return math.inf
    return signal_rate_fb * luminosity_fb / math.sqrt(background_rate_fb * luminosity_fb)


def luminosity_for(target: float, signal_rate_fb: float, background_rate_fb: float) -> float:
    """Integrated luminosity (fb⁻¹) at which one histogram of all selected events has S/√B = ``target``.

    Example:
        >>> luminosity_for(2.0, 10.0, 1e4)
        400.0
    """
    if signal_rate_fb <= 0:
        return math.inf
    return target**2 * background_rate_fb / signal_rate_fb**2


@dataclasses.dataclass(frozen=True)
class LuminosityView:
    """Every signal point's S/√B at the study luminosity and the luminosity for each target S/√B.

    Attributes:
        luminosity_fb: the study's luminosity.
        backgrounds: background sample points.
        signals: signal sample points.
        targets: target S/√B values (the study's dataset grid).
        dataset_background_events: B of the dataset histograms.
    """

    luminosity_fb: float
    backgrounds: tuple[SampleRate, ...]
    signals: tuple[SampleRate, ...]
    targets: tuple[float, ...]
    dataset_background_events: float

    @property
    def background_rate_fb(self) -> float:
        return sum(b.rate_fb for b in self.backgrounds)

    @property
    def background_events(self) -> float:
        """Selected background events at the study luminosity."""
        return self.background_rate_fb * self.luminosity_fb

    @property
    def dataset_luminosity_fb(self) -> float:
        """Luminosity at which all selected background makes B events (``B / R_B``)."""
        rate = self.background_rate_fb
        return self.dataset_background_events / rate if rate > 0 else math.inf

    def signal_events(self, signal: SampleRate) -> float:
        return signal.rate_fb * self.luminosity_fb

    def s_over_sqrt_b(self, signal: SampleRate) -> float:
        return s_over_sqrt_b_at(signal.rate_fb, self.background_rate_fb, self.luminosity_fb)

    def luminosity_for(self, signal: SampleRate, target: float) -> float:
        return luminosity_for(target, signal.rate_fb, self.background_rate_fb)


def luminosity_view(rates: Sequence[SampleRate], *, luminosity_fb: float, targets: Sequence[float],
                    dataset_background_events: float) -> LuminosityView:
    """Split sample rates into signals and backgrounds and wrap them in a :class:`LuminosityView`."""
    return LuminosityView(
        luminosity_fb=float(luminosity_fb),
        backgrounds=tuple(r for r in rates if r.role == "background"),
        signals=tuple(r for r in rates if r.role == "signal"),
        targets=tuple(float(t) for t in targets),
        dataset_background_events=float(dataset_background_events),
    )
