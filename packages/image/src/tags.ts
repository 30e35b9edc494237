// Which tags an image gets, after docker/metadata-action: semver from the model version (1.2.3 →
// 1.2.3, 1.2, 1; a prerelease only its full version), sha-<7 hex> of the commit (the PR head on a
// pull request), pr-<n> on a pull request, latest and semver only on the default branch (a pull
// request must not move a release tag), and the branch name when asked. Extra tags are kept as given.
import { InputError } from '@ferry/core';
import { isValidTag } from './oci/index.js';
import type { SourceContext } from './ci-context.js';

export type TagRule = 'semver' | 'sha' | 'pr' | 'latest' | 'branch' | 'none';

export interface TagDecision {
  tag: string;
  /** Which rule made it, for the report. */
  rule: TagRule | 'input' | 'image';
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** "v1.2.3" → { version: "1.2.3", major, minor, prerelease }; undefined when not semver. */
export function parseSemver(text: string): { version: string; major: string; minor: string; prerelease: boolean } | undefined {
  const match = SEMVER.exec(text.trim());
  if (!match) return undefined;
  // Docker tags cannot hold "+", so build metadata is left out of the tag.
  const version = `${match[1]}.${match[2]}.${match[3]}${match[4] ? `-${match[4]}` : ''}`;
  return { version, major: match[1]!, minor: `${match[1]}.${match[2]}`, prerelease: match[4] !== undefined };
}

/** A branch name as a tag: "feature/x" → "feature-x", as metadata-action's type=ref does. */
export function sanitiseTag(text: string): string {
  return text.replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 128);
}

export interface TagInputs {
  rules: readonly string[];
  extra: readonly string[];
  /** The tag written in the image reference, if any. */
  referenceTag: string | undefined;
  modelVersion: string | undefined;
  source: SourceContext;
}

export function decideTags(inputs: TagInputs): TagDecision[] {
  const { source } = inputs;
  const rules = new Set(inputs.rules as TagRule[]);
  if (rules.has('none') && rules.size > 1) throw new InputError('tag-rules: "none" cannot be combined with other rules', { subject: 'tag-rules' });
  const onPullRequest = source.pullRequest !== undefined;
  const onDefaultBranch = !onPullRequest && source.ref !== undefined && source.refType === 'branch' && source.ref === source.defaultBranch;
  const decisions: TagDecision[] = [];
  const add = (tag: string, rule: TagDecision['rule']) => {
    if (!decisions.some((d) => d.tag === tag)) decisions.push({ tag, rule });
  };

  if (inputs.referenceTag !== undefined) add(inputs.referenceTag, 'image');
  for (const tag of inputs.extra) {
    if (!isValidTag(tag)) throw new InputError(`tags: "${tag}" is not a valid tag (letters, digits, _ . - and at most 128 characters, not starting with . or -)`, { subject: 'tags' });
    add(tag, 'input');
  }
  if (rules.has('semver') && inputs.modelVersion && !onPullRequest) {
    const semver = parseSemver(inputs.modelVersion);
    // A tag push is a release whatever the branch: metadata-action's type=semver runs on tags.
    if (semver && (onDefaultBranch || source.refType === 'tag' || source.platform === 'none' || source.platform === 'git')) {
      add(semver.version, 'semver');
      if (!semver.prerelease) {
        add(semver.minor, 'semver');
        add(semver.major, 'semver');
      }
    }
  }
  if (rules.has('sha') && source.revision !== undefined && /^[0-9a-f]{7,}$/i.test(source.revision)) add(`sha-${source.revision.slice(0, 7).toLowerCase()}`, 'sha');
  if (rules.has('pr') && onPullRequest) add(`pr-${source.pullRequest}`, 'pr');
  if (rules.has('branch') && !onPullRequest && source.refType === 'branch' && source.ref) {
    const tag = sanitiseTag(source.ref);
    if (isValidTag(tag)) add(tag, 'branch');
  }
  if (rules.has('latest') && onDefaultBranch) add('latest', 'latest');
  return decisions;
}
