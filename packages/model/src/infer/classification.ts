// Classification metrics from true and predicted labels, with scikit-learn's conventions: accuracy;
// F1 averaged over the classes seen in the labels or the predictions (macro); for binary 0/1 labels
// also precision, recall and F1 of class 1. A ratio with a zero denominator counts as 0.

/** The metric names smoke-eval computes, as metric gates and the step's metrics call them. */
export const COMPUTED_METRICS = ['accuracy', 'f1_macro', 'precision', 'recall', 'f1'] as const;
export type ComputedMetric = (typeof COMPUTED_METRICS)[number];

/** The class that precision, recall and f1 are about when the labels are binary. */
export const POSITIVE_LABEL = '1';

export interface ClassScores {
  readonly label: string;
  /** Rows whose true label is this class. */
  readonly support: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ClassificationMetrics {
  readonly rows: number;
  readonly accuracy: number;
  readonly f1Macro: number;
  /** Precision, recall and F1 of class 1, for binary labels only. */
  readonly binary?: { readonly precision: number; readonly recall: number; readonly f1: number };
  /** Every class seen in the labels or the predictions, in label order. */
  readonly perClass: readonly ClassScores[];
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** Numeric labels in numeric order, others after them in string order. */
function byLabel(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  const nx = a.trim() !== '' && Number.isFinite(x);
  const ny = b.trim() !== '' && Number.isFinite(y);
  if (nx && ny) return x - y;
  if (nx !== ny) return nx ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Metrics of `predicted` against `truth` (same length, at least one row). `binary` says whether the
 * task has exactly the classes 0 and 1, so that precision and recall of class 1 mean something.
 */
export function classificationMetrics(truth: readonly string[], predicted: readonly string[], binary: boolean): ClassificationMetrics {
  if (truth.length !== predicted.length || truth.length === 0) {
    throw new RangeError(`need as many predictions as labels, and at least one: got ${truth.length} labels, ${predicted.length} predictions`);
  }
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const of = (label: string): { tp: number; fp: number; fn: number } => {
    let c = counts.get(label);
    if (c === undefined) counts.set(label, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  let correct = 0;
  truth.forEach((t, i) => {
    const p = predicted[i] as string;
    if (t === p) {
      correct++;
      of(t).tp++;
    } else {
      of(t).fn++;
      of(p).fp++;
    }
  });
  const perClass = [...counts.entries()]
    .sort(([a], [b]) => byLabel(a, b))
    .map(([label, c]) => ({
      label,
      support: c.tp + c.fn,
      precision: ratio(c.tp, c.tp + c.fp),
      recall: ratio(c.tp, c.tp + c.fn),
      // 2TP / (2TP + FP + FN) equals the harmonic mean of precision and recall, and is 0 when TP is.
      f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    }));
  const f1Macro = perClass.reduce((s, c) => s + c.f1, 0) / perClass.length;
  const positive = perClass.find((c) => c.label === POSITIVE_LABEL);
  return {
    rows: truth.length,
    accuracy: correct / truth.length,
    f1Macro,
    ...(binary ? { binary: { precision: positive?.precision ?? 0, recall: positive?.recall ?? 0, f1: positive?.f1 ?? 0 } } : {}),
    perClass,
  };
}

/** The metrics by the names gates and reports use (precision, recall, f1 only for binary labels). */
export function metricValues(m: ClassificationMetrics): Map<ComputedMetric, number> {
  const out = new Map<ComputedMetric, number>([
    ['accuracy', m.accuracy],
    ['f1_macro', m.f1Macro],
  ]);
  if (m.binary) {
    out.set('precision', m.binary.precision);
    out.set('recall', m.binary.recall);
    out.set('f1', m.binary.f1);
  }
  return out;
}
