// GitLab report artifacts: junit (gates), codequality (findings), metrics (OpenMetrics) and
// load_performance (k6 summary), each in the format GitLab's merge-request widgets read.
import { createHash } from 'node:crypto';
import type { Finding, LoadPerformance, StepName, StepResult } from '@ferry/core';

const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** Gates as test cases (and findings of blocking severity as failed cases), one suite per step. */
export function junitXml(result: StepResult): string {
  const cases: string[] = [];
  for (const g of result.gates) {
    const body = g.passed ? '' : `<failure message="${xml(`${g.value} vs ${g.threshold}`)}">${xml(g.detail ?? '')}</failure>`;
    cases.push(`    <testcase classname="ferry.${result.step}" name="${xml(g.name)}">${body}</testcase>`);
  }
  const blocking = result.findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
  for (const f of blocking) {
    cases.push(`    <testcase classname="ferry.${result.step}.findings" name="${xml(`${f.rule} ${f.file ?? ''}`.trim())}"><failure message="${xml(f.message)}"/></testcase>`);
  }
  // A verdict other than pass never reads as a green test report, even when every gate passed
  // (an inconclusive judgement, or findings below the blocking severities that still failed it).
  const failed = cases.some((c) => c.includes('<failure'));
  if (cases.length === 0 || (result.verdict !== 'pass' && !failed)) {
    const body = result.verdict === 'pass' ? '' : `<failure message="${xml(result.headline)}"/>`;
    cases.push(`    <testcase classname="ferry.${result.step}" name="verdict">${body}</testcase>`);
  }
  const failures = cases.filter((c) => c.includes('<failure')).length;
  return junitDocument(result.step, cases, { failures, errors: 0, seconds: result.durationMs / 1000 });
}

/** The report of a step that could not run (bad input, unreachable infrastructure): one errored case. */
export function junitErrorXml(step: StepName, message: string): string {
  const cases = [`    <testcase classname="ferry.${step}" name="run"><error message="${xml(message)}"/></testcase>`];
  return junitDocument(step, cases, { failures: 0, errors: 1, seconds: 0 });
}

function junitDocument(step: StepName, cases: readonly string[], c: { failures: number; errors: number; seconds: number }): string {
  const counts = `tests="${cases.length}" failures="${c.failures}" errors="${c.errors}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ferry" ${counts}>`,
    `  <testsuite name="${step}" ${counts} time="${c.seconds.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const CQ_SEVERITY: Record<Finding['severity'], string> = { critical: 'blocker', high: 'critical', medium: 'major', low: 'minor', info: 'info' };

export function codeQualityJson(result: StepResult): string {
  const issues = result.findings.map((f) => ({
    description: f.message,
    check_name: f.rule,
    fingerprint: createHash('sha256').update(`${result.step}\0${f.rule}\0${f.file ?? ''}\0${f.line ?? ''}\0${f.message}`).digest('hex'),
    severity: CQ_SEVERITY[f.severity],
    location: { path: f.file ?? '.', lines: { begin: f.line ?? 1 } },
  }));
  return `${JSON.stringify(issues, null, 2)}\n`;
}

/** OpenMetrics text: one gauge per numeric result, so MR widgets show the change against the target branch. */
export function openMetrics(result: StepResult): string {
  const lines: string[] = [];
  const step = result.step.replace(/-/g, '_');
  for (const [name, value] of Object.entries(result.metrics)) {
    if (!Number.isFinite(value)) continue;
    const metric = `ferry_${step}_${name}`.replace(/[^a-zA-Z0-9_]/g, '_');
    lines.push(`# TYPE ${metric} gauge`, `${metric} ${value}`);
  }
  const verdictMetric = `ferry_${step}_passed`;
  lines.push(`# TYPE ${verdictMetric} gauge`, `${verdictMetric} ${result.verdict === 'pass' ? 1 : 0}`, '# EOF', '');
  return lines.join('\n');
}

/**
 * The k6 end-of-test summary shape GitLab's load-performance widget reads: it compares
 * http_req_waiting p(95) and http_reqs rate, and checks passes/fails.
 */
export function k6Summary(m: LoadPerformance): string {
  const trend = { avg: m.avgMs, min: m.minMs, med: m.p50Ms, max: m.maxMs, 'p(90)': m.p90Ms, 'p(95)': m.p95Ms };
  return `${JSON.stringify(
    {
      metrics: {
        http_req_waiting: trend,
        http_req_duration: trend,
        http_reqs: { count: m.requests, rate: m.rps },
        checks: { passes: m.requests - m.failures, fails: m.failures, value: m.requests > 0 ? (m.requests - m.failures) / m.requests : 0 },
      },
      root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: {}, checks: {} },
    },
    null,
    2,
  )}\n`;
}
