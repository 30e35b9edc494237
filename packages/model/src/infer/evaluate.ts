// Labelled evaluation of an ONNX classifier (smoke-eval): a CSV of feature columns and a label
// column goes through the model's one input; predictions are a label output (int or string, as
// scikit-learn converters write) or the argmax of a float score output [rows, classes].
import { InputError } from '@ferry/core';
import { delimiterFor, parseCsvTable, readGateFile } from '../gates/csv.js';
import { classificationMetrics, POSITIVE_LABEL, type ClassificationMetrics } from './classification.js';
import type { Ort } from './runtime.js';
import { tensorNumbers } from './tensors.js';

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
type Tensor = InstanceType<Ort['Tensor']>;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Rows per run when the model's batch dimension is dynamic. */
const BATCH_ROWS = 512;

export interface LabelledTable {
  /** The file as written, for messages. */
  readonly file: string;
  readonly featureNames: readonly string[];
  /** Row-major features, rows × featureNames.length. */
  readonly features: Float64Array;
  readonly labels: readonly string[];
  /** 1-based line of each row, for messages. */
  readonly lines: readonly number[];
}

/** Reads a labelled CSV: every column but `labelColumn` is a numeric feature, in file order. */
export async function readLabelledCsv(file: string, cwd: string, labelColumn: string): Promise<LabelledTable> {
  const table = parseCsvTable(await readGateFile(file, 'smoke-eval file', cwd), file, delimiterFor(file));
  const labelIndex = table.header.indexOf(labelColumn);
  if (labelIndex < 0) {
    throw new InputError(`${file}:1: no label column "${labelColumn}" (columns: ${table.header.join(', ')}); set smoke-eval-label to the column holding the true class`, {
      subject: file,
    });
  }
  const featureIdx = table.header.map((_, i) => i).filter((i) => i !== labelIndex);
  if (featureIdx.length === 0) throw new InputError(`${file}:1: no feature columns besides the label "${labelColumn}"`, { subject: file });
  if (table.rows.length === 0) throw new InputError(`${file}: no rows to evaluate`, { subject: file });
  const features = new Float64Array(table.rows.length * featureIdx.length);
  const labels: string[] = [];
  table.rows.forEach((row, r) => {
    featureIdx.forEach((c, k) => {
      const cell = (row.fields[c] as string).trim();
      if (!DECIMAL.test(cell)) {
        throw new InputError(`${file}:${row.line}: column "${table.header[c]}" is ${JSON.stringify(cell)}, not a number`, { subject: file });
      }
      features[r * featureIdx.length + k] = Number(cell);
    });
    const label = (row.fields[labelIndex] as string).trim();
    if (label === '') throw new InputError(`${file}:${row.line}: the label "${labelColumn}" is empty`, { subject: file });
    labels.push(label);
  });
  return { file, featureNames: featureIdx.map((i) => table.header[i] as string), features, labels, lines: table.rows.map((r) => r.line) };
}

/** A numeric label in canonical form ("1.0" → "1"), so CSV text and model output compare. */
function canonical(label: string): string {
  return DECIMAL.test(label) ? String(Number(label)) : label;
}

export interface ClassifierEvaluation {
  readonly metrics: ClassificationMetrics;
  /** The output the predictions came from, and how. */
  readonly output: string;
  readonly method: 'label output' | 'argmax of scores';
  /** Rows with non-finite scores, which have no prediction (and count as wrong). */
  readonly unscored: number;
}

/** Runs every row through the session and scores the predictions against the labels. */
export async function evaluateClassifier(ort: Ort, session: Session, data: LabelledTable): Promise<ClassifierEvaluation> {
  const inputs = session.inputMetadata;
  const input = inputs[0];
  if (inputs.length !== 1 || input === undefined || !input.isTensor) {
    throw new InputError(`smoke-eval needs a model with one tensor input (features); this one has ${inputs.map((m) => m.name).join(', ') || 'none'}`, {
      subject: 'smoke-eval',
    });
  }
  if (input.type !== 'float32' && input.type !== 'float64') {
    throw new InputError(`smoke-eval feeds numbers: the model's input "${input.name}" is ${input.type}, not float32 or float64`, { subject: 'smoke-eval' });
  }
  const width = data.featureNames.length;
  const declared = input.shape[1];
  if (input.shape.length !== 2 || (typeof declared === 'number' && declared !== width)) {
    throw new InputError(
      `${data.file}: ${width} feature columns (${data.featureNames.join(', ')}), but the model's input "${input.name}" has shape [${input.shape.join(', ')}]; smoke-eval needs [rows, ${width}]`,
      { subject: data.file },
    );
  }
  const outputs = session.outputMetadata.filter((m) => m.isTensor);
  const labelOut = outputs.find((m) => m.isTensor && (m.type === 'int64' || m.type === 'int32' || m.type === 'string'));
  const scoreOut = outputs.find((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'));
  const chosen = labelOut ?? scoreOut;
  if (chosen === undefined) {
    throw new InputError(`smoke-eval needs a label output (int or string) or a float score output; the model has ${session.outputNames.join(', ')}`, {
      subject: 'smoke-eval',
    });
  }
  const method = chosen === labelOut ? 'label output' : 'argmax of scores';
  const rows = data.labels.length;
  const batch = input.shape[0] === 1 ? 1 : BATCH_ROWS;
  const predicted: string[] = [];
  let classes = 0;
  let unscored = 0;
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    const slice = data.features.subarray(start * width, (start + n) * width);
    const tensor = new ort.Tensor(input.type, input.type === 'float32' ? Float32Array.from(slice) : Float64Array.from(slice), [n, width]);
    const result = await session.run({ [input.name]: tensor }, [chosen.name]);
    const out = result[chosen.name] as Tensor;
    const dims = out.dims;
    if (method === 'label output') {
      if (dims[0] !== n || !(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) {
        throw new InputError(`smoke-eval: the label output "${chosen.name}" has shape [${dims.join(', ')}] for ${n} rows; expected [${n}] or [${n}, 1]`, {
          subject: 'smoke-eval',
        });
      }
      const values = out.type === 'string' ? (out.data as string[]) : tensorNumbers(out).map(String);
      predicted.push(...values.map((v) => canonical(String(v))));
    } else {
      if (dims.length !== 2 || dims[0] !== n || (dims[1] ?? 0) < 2) {
        throw new InputError(
          `smoke-eval: the score output "${chosen.name}" has shape [${dims.join(', ')}] for ${n} rows; expected [${n}, classes] with at least 2 classes`,
          { subject: 'smoke-eval' },
        );
      }
      classes = dims[1] as number;
      const scores = tensorNumbers(out);
      for (let r = 0; r < n; r++) {
        let best = 0;
        let finite = true;
        for (let c = 0; c < classes; c++) {
          const s = scores[r * classes + c] as number;
          if (!Number.isFinite(s)) finite = false;
          else if (s > (scores[r * classes + best] as number)) best = c;
        }
        // A row with a NaN or infinite score has no prediction: it counts as wrong, never as a class.
        if (finite) predicted.push(String(best));
        else {
          unscored++;
          predicted.push('no prediction');
        }
      }
    }
  }
  const truth = data.labels.map(canonical);
  if (method === 'argmax of scores') {
    truth.forEach((t, i) => {
      const k = Number(t);
      if (!Number.isInteger(k) || k < 0 || k >= classes) {
        throw new InputError(`${data.file}:${data.lines[i]}: label ${JSON.stringify(data.labels[i])} is not a class index of the model's ${classes} scores (0–${classes - 1})`, {
          subject: data.file,
        });
      }
    });
  }
  const binary = method === 'argmax of scores' ? classes === 2 : [...truth, ...predicted].every((l) => l === '0' || l === POSITIVE_LABEL);
  return { metrics: classificationMetrics(truth, predicted, binary), output: chosen.name, method, unscored };
}
