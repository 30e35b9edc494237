// The GPU part of the benchmark report: what the readiness check found, mean and peak use over the
// measurement window (with a chart of utilisation over time), throttling, energy and cost.
import type { ReportBlock, ReportSection } from '@ferry/core';
import type { GpuReadiness } from '../gpu/nvidia-smi.js';
import type { GpuTelemetry, MetricStat } from '../gpu/telemetry.js';
import { num } from './format.js';
import { xyChart } from './report.js';

function stat(s: MetricStat | undefined, unit: string, digits = 1): string {
  return s ? `${s.mean.toFixed(digits)} / ${s.peak.toFixed(digits)}${unit}` : '–';
}

export function gpuSection(readiness: GpuReadiness | undefined, telemetry: GpuTelemetry | undefined, cost: ReportBlock | undefined): ReportSection {
  const blocks: ReportBlock[] = [];
  if (readiness) {
    if (readiness.available) {
      blocks.push({
        kind: 'keyvalue',
        entries: [
          ['driver', readiness.driverVersion ?? 'unknown'],
          ['CUDA', readiness.cudaVersion ?? 'unknown'],
          ...readiness.gpus.map((g): [string, string] => [`GPU ${g.index}`, `${g.name}${g.memoryTotalMiB !== undefined ? `, ${g.memoryTotalMiB} MiB` : ''}`]),
        ],
      });
    } else {
      blocks.push({ kind: 'paragraph', text: `No usable GPU on this runner: ${readiness.reason ?? 'none found'}.` });
    }
  }
  if (telemetry && telemetry.gpus.length > 0) {
    const smActive = telemetry.gpus.some((g) => g.smActive);
    blocks.push({
      kind: 'table',
      columns: ['GPU', 'samples', 'utilisation mean / peak', ...(smActive ? ['SM active mean / peak'] : []), 'memory used mean / peak', 'power mean / peak', 'SM clock mean / peak', 'energy', 'throttled'],
      rows: telemetry.gpus.map((g) => [
        `${g.gpu}${g.name ? ` ${g.name}` : ''}`,
        `${g.samples}${g.meanIntervalMs !== undefined ? ` (every ${g.meanIntervalMs.toFixed(0)} ms)` : ''}`,
        stat(g.utilizationPct, ' %'),
        ...(smActive ? [g.smActive ? `${(g.smActive.mean * 100).toFixed(1)} / ${(g.smActive.peak * 100).toFixed(1)} %` : '–'] : []),
        stat(g.memoryUsedMiB, ' MiB', 0),
        stat(g.powerW, ' W'),
        stat(g.smClockMHz, ' MHz', 0),
        g.energyJoules !== undefined ? `${(g.energyJoules / 3600).toFixed(3)} Wh` : '–',
        Object.entries(g.throttle)
          .filter(([reason, share]) => share > 0 && reason !== 'gpu_idle')
          .map(([reason, share]) => `${reason} ${(share * 100).toFixed(0)}%`)
          .join(', ') || 'no',
      ]),
    });
    const first = telemetry.gpus[0]!;
    if (first.series.length > 1) {
      const useSm = first.series.some((p) => p.smActive !== undefined);
      blocks.push({
        kind: 'chart',
        title: 'GPU use over the measurement',
        mermaid: xyChart(
          `GPU ${first.gpu} ${useSm ? 'SM active' : 'utilisation'} (%) over time`,
          'seconds',
          first.series.map((p) => num(p.tS, 2)),
          '%',
          [first.series.map((p) => (useSm ? (p.smActive ?? 0) * 100 : p.utilizationPct))],
        ),
      });
    }
    blocks.push({
      kind: 'paragraph',
      text:
        telemetry.source === 'dcgm'
          ? 'Scraped from dcgm-exporter; SM active is the share of SM cycles with work, the figure to trust for load.'
          : 'Sampled with nvidia-smi. Its utilisation is the share of time any kernel ran, so it overstates how busy the GPU is; give dcgm-url for SM active.',
    });
    if (telemetry.warnings.length > 0) blocks.push({ kind: 'list', items: [...telemetry.warnings] });
  }
  if (cost) blocks.push(cost);
  return { heading: 'GPU and cost', blocks };
}
