"""A PNG chart of a demand history, its forecast and the 80 % / 95 % intervals."""

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: render to memory

from matplotlib import pyplot as plt  # noqa: E402

from analytics.forecast.pipeline import ForecastPoint  # noqa: E402


def forecast_chart(*, history: Sequence[tuple[str, float]], points: Sequence[ForecastPoint], title: str) -> bytes:
    """History as a line, the forecast mean dashed, intervals as two shaded bands; PNG bytes."""
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    try:
        x_history = range(len(history))
        x_future = range(len(history), len(history) + len(points))
        axes.plot(x_history, [value for _, value in history], color="#1f4e79", label="verified demand")
        axes.fill_between(x_future, [p.lower_95 for p in points], [p.upper_95 for p in points], color="#f4b183", alpha=0.45, label="95 %")
        axes.fill_between(x_future, [p.lower_80 for p in points], [p.upper_80 for p in points], color="#e46c0a", alpha=0.45, label="80 %")
        axes.plot(x_future, [p.mean for p in points], color="#c00000", linestyle="--", label="forecast")
        labels = [period for period, _ in history] + [p.period for p in points]
        step = max(1, len(labels) // 10)
        axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right", fontsize=8)
        axes.set_title(title, fontsize=11)
        axes.set_ylabel("quantity")
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
