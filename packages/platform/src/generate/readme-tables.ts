// Generates the README's input and output tables, between marker comments, from the declarations.
import { appliesTo, cliFlag, describeDefault, gitlabInputName, type StepDefinition } from '@ferry/core';
import { markdownTable } from '../render/markdown.js';
import { dotenvName } from '../gitlab/dotenv.js';

const BEGIN = (step: string): string => `<!-- ferry:generated:reference:${step}:start -->`;
const END = (step: string): string => `<!-- ferry:generated:reference:${step}:end -->`;

export function stepReference(def: StepDefinition): string {
  const inputs = markdownTable(
    ['Action input', 'CLI flag', 'GitLab input', 'Type', 'Default', 'Description'],
    Object.entries(def.inputs).map(([name, d]) => [
      appliesTo(d, 'github') ? `\`${name}\`${d.required ? ' (required)' : ''}` : '—',
      appliesTo(d, 'cli') ? `\`${cliFlag(name)}\`` : '—',
      appliesTo(d, 'gitlab') ? `\`${gitlabInputName(name)}\`` : '—',
      d.options ? `${d.type}: ${d.options.join(' \\| ')}` : d.type,
      d.actionDefault ?? describeDefault(d),
      `${d.description}${d.secret ? ' Secret.' : ''}`,
    ]),
  );
  const outputs = markdownTable(
    ['Output', 'GitLab dotenv variable', 'Description'],
    Object.entries(def.outputs).map(([name, d]) => [`\`${name}\``, `\`${dotenvName(def.name, name)}\``, d.description]),
  );
  return `${BEGIN(def.name)}\n**Inputs**\n\n${inputs}\n\n**Outputs**\n\n${outputs}\n${END(def.name)}`;
}

/** Replaces each step's marked region in `readme`; a missing region is an error, not silently added. */
export function spliceReadme(readme: string, defs: readonly StepDefinition[]): string {
  let out = readme;
  for (const def of defs) {
    const b = out.indexOf(BEGIN(def.name));
    const e = out.indexOf(END(def.name));
    if (b < 0 || e < b) throw new Error(`README.md lacks the markers for ${def.name}: add ${BEGIN(def.name)} and ${END(def.name)}`);
    out = out.slice(0, b) + stepReference(def) + out.slice(e + END(def.name).length);
  }
  return out;
}
