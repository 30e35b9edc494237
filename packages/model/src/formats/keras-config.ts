// Rules over a Keras model config (config.json of a .keras archive, the model_config attribute of a
// legacy .h5): Lambda layers carry marshalled Python code, and objects from modules outside keras.*
// are imported by name when the model loads, so both are reported.
import type { Finding } from '@ferry/core';

export interface KerasConfigScan {
  readonly findings: Finding[];
  readonly layers: number;
  readonly modelClass: string | undefined;
}

/** TFOpLambda functions in these namespaces touch files or run Python, not just tensor math. */
const RISKY_TF_OPS = /(^|\.)(io|gfile|py_function|numpy_function|py_func|saved_model)(\.|$)/;
/** JSON nesting that is walked; deeper levels are hostile and reported instead of followed. */
const MAX_WALK_DEPTH = 256;
/** Findings per rule that are reported one by one; the rest are counted in one summary. */
const MAX_PER_RULE = 20;

function isKerasModule(module: string): boolean {
  return module === 'keras' || module.startsWith('keras.') || module === 'tf_keras' || module.startsWith('tf_keras.');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function scanKerasConfig(root: unknown, file: string, source: string): KerasConfigScan {
  const findings: Finding[] = [];
  const perRule = new Map<string, number>();
  const add = (severity: Finding['severity'], rule: string, message: string): void => {
    const n = (perRule.get(rule) ?? 0) + 1;
    perRule.set(rule, n);
    if (n <= MAX_PER_RULE) findings.push({ severity, rule, message: `${source}: ${message}`, file });
  };
  let layers = 0;
  let tooDeep = false;
  const rootObj = root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>) : undefined;
  const modelClass = str(rootObj?.class_name);
  // Explicit stack: a hostile config may nest far deeper than the call stack allows.
  const stack: { value: unknown; inLambda: boolean; depth: number; isLayer: boolean }[] = [{ value: root, inLambda: false, depth: 0, isLayer: false }];
  while (stack.length > 0) {
    const { value, inLambda, depth, isLayer } = stack.pop() ?? { value: undefined, inLambda: false, depth: 0, isLayer: false };
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_WALK_DEPTH) {
      tooDeep = true;
      continue;
    }
    if (Array.isArray(value)) {
      for (const v of value) stack.push({ value: v, inLambda, depth: depth + 1, isLayer });
      continue;
    }
    const obj = value as Record<string, unknown>;
    const cls = str(obj.class_name);
    const config = obj.config !== null && typeof obj.config === 'object' ? (obj.config as Record<string, unknown>) : undefined;
    const name = str(config?.name) ?? str(obj.name);
    const label = `${cls ?? 'object'}${name ? ` '${name}'` : ''}`;
    if (isLayer && cls) layers++;
    let lambda = inLambda;
    if (cls === 'Lambda') {
      add('critical', 'keras/lambda-layer', `Lambda layer${name ? ` '${name}'` : ''} holds Python code that runs when the model is loaded or called`);
      lambda = true;
    } else if (cls === '__lambda__' && !inLambda) {
      add('critical', 'keras/lambda-layer', `a serialized Python lambda (in ${label}) runs when the model is loaded`);
    }
    const module = str(obj.module);
    const registered = str(obj.registered_name);
    // Inside a Lambda layer the function's own module (often __main__) belongs to the code already reported.
    if (lambda) {
      // reported as the Lambda layer
    } else if (module !== undefined && !isKerasModule(module)) {
      add('high', 'keras/custom-object', `${label} is imported from module '${module}', outside keras: loading it runs that module's code`);
    } else if (registered !== undefined && registered.includes('>')) {
      add('high', 'keras/custom-object', `${label} is the custom registered object '${registered}': loading it needs and runs user code`);
    }
    if (cls === 'TFOpLambda' || cls === 'SlicingOpLambda') {
      const fn = str(config?.function) ?? '?';
      const risky = RISKY_TF_OPS.test(fn);
      add(risky ? 'high' : 'low', 'keras/tf-op-lambda', `${label} calls TensorFlow function '${fn}'${risky ? ', which reads or writes files or runs Python' : ''}`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (v !== null && typeof v === 'object') stack.push({ value: v, inLambda: lambda, depth: depth + 1, isLayer: k === 'layers' });
    }
  }
  for (const [rule, n] of perRule) {
    if (n > MAX_PER_RULE) findings.push({ severity: 'info', rule, message: `${source}: ${n - MAX_PER_RULE} more ${rule} finding(s) not listed`, file });
  }
  if (tooDeep) {
    findings.push({ severity: 'high', rule: 'keras/config-depth', message: `${source}: the config nests deeper than ${MAX_WALK_DEPTH} levels; deeper parts were not checked`, file });
  }
  return { findings, layers, modelClass };
}
