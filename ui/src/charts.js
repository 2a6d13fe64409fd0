// charts.js - the analytics charts of one link, drawn by Chart.js (only the parts we use).
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Filler, Legend,
  LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Filler,
  Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#333';

const BLUE = '#1f5fbf';
const PALETTE = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#4b5563', '#be185d', '#1d4ed8'];

export function seriesChart(canvas, series, interval) {
  const labels = series.map((p) => (interval === 'hour' ? p.t.slice(5, 13).replace('T', ' ') + ':00' : p.t.slice(0, 10)));
  return new Chart(canvas, {
    type: 'line',
    data: { labels, datasets: [{ label: 'Clicks', data: series.map((p) => p.clicks), borderColor: BLUE, backgroundColor: 'rgba(31,95,191,0.15)', fill: true, pointRadius: 2, tension: 0.2 }] },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

export function barChart(canvas, items, label) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: items.map((i) => i.name || '(none)'), datasets: [{ label, data: items.map((i) => i.clicks), backgroundColor: BLUE }] },
    options: { indexAxis: 'y', responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

export function doughnutChart(canvas, items) {
  return new Chart(canvas, {
    type: 'doughnut',
    data: { labels: items.map((i) => i.name), datasets: [{ data: items.map((i) => i.clicks), backgroundColor: PALETTE }] },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } },
  });
}
