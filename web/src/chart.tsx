/** A stacked bar chart over time (Chart.js, only the pieces it needs so the bundle stays small). */
import { useEffect, useRef } from 'preact/hooks';
import { isRtl, t } from './i18n';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  label: string;
  color: string;
  values: number[];
}

export function StackedBars({
  labels,
  series,
  title,
}: {
  labels: string[];
  series: Series[];
  title: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        // Right to left: days run from the right, the axis of counts stands on the right.
        scales: {
          x: { stacked: true, reverse: isRtl() },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: { precision: 0 },
            position: isRtl() ? 'right' : 'left',
          },
        },
        plugins: { legend: { position: 'bottom', rtl: isRtl() } },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color }));
    c.update();
  }, [labels, series]);

  // The canvas is drawn, so the same numbers are offered to screen readers as a table.
  return (
    <figure class="chart">
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
      <details>
        <summary>{t('chart.table')}</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('chart.period')}</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {labels.map((l, i) => (
              <tr key={l}>
                <th scope="row">{l}</th>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
