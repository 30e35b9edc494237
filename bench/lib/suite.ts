// The shape of a bench suite: it measures, and returns summary rows plus the detail behind them.
import type { Row } from './report.ts';

export interface SuiteContext {
  readonly quick: boolean;
  /** Progress for a person watching (stderr); never part of the results. */
  log(line: string): void;
}

export interface DetailTable {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly rightAligned?: readonly boolean[];
}

export interface SuiteResult {
  readonly rows: readonly Row[];
  readonly details: readonly DetailTable[];
  /** Conditions a reader needs to interpret the numbers (cache state, sizes, method). */
  readonly notes: readonly string[];
  /** Raw samples and parameters for latest.json. */
  readonly data: Record<string, unknown>;
}

export interface Suite {
  readonly name: string;
  readonly title: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
