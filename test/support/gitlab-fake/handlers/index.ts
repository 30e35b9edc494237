// Which handler serves which operation of the subset; an operation without one answers 501.
import { createCommitStatus } from './commit-statuses.js';
import { createNote, editNote, listNotes, showNote } from './notes.js';
import type { Handler } from './types.js';

export const handlers: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['getApiV4ProjectsIdMergeRequestsMergeRequestIidNotes', listNotes],
  ['postApiV4ProjectsIdMergeRequestsMergeRequestIidNotes', createNote],
  ['getApiV4ProjectsIdMergeRequestsMergeRequestIidNotesNoteId', showNote],
  ['putApiV4ProjectsIdMergeRequestsMergeRequestIidNotesNoteId', editNote],
  ['postApiV4ProjectsIdStatusesSha', createCommitStatus],
]);

export { GitLabError, type Handler, type HandlerContext, type HandlerRequest, type HandlerResult } from './types.js';
