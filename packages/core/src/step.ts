// The step contract: a declaration plus the engine that runs it.
import type { StepContext } from './context.js';
import type { InputValues, OutputValues } from './inputs.js';
import type { StepResult } from './result.js';
import type { StepDefinition } from './steps/common.js';
import { InputError } from './errors.js';

export interface Step<D extends StepDefinition = StepDefinition> {
  readonly definition: D;
  run(ctx: StepContext, inputs: InputValues<D['inputs']>): Promise<StepResult<OutputValues<D['outputs']>>>;
}

/** Any step, whatever its declaration; doors handle steps through this type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStep = Step<StepDefinition<any, any>>;

/** Pairs a declaration with its engine, keeping the inferred input types. */
export function implementStep<D extends StepDefinition>(definition: D, run: Step<D>['run']): Step<D> {
  return { definition, run };
}

/**
 * A declared step whose engine this build does not include. It fails with exit 2 and says so,
 * instead of pretending to run; the declaration still drives action.yml, flags and templates.
 */
export function unavailableStep<D extends StepDefinition>(definition: D): Step<D> {
  return {
    definition,
    run: async () => {
      throw new InputError(`the ${definition.name} engine is not included in this build of Ferry`, {
        subject: definition.name,
        hint: 'see the README for the steps this version ships',
      });
    },
  };
}
