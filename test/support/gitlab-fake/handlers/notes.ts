// Merge-request notes: list (sorted, paginated), show, create and edit.
import { paginate } from '../pagination.js';
import { noteAuthor, timestamp, type Note } from '../resources.js';
import { bodyObject, GitLabError, type Handler, type HandlerContext, type HandlerRequest } from './types.js';

function target(request: HandlerRequest, context: HandlerContext): { project: string; iid: number } {
  return { project: context.state.project(request.params.id ?? ''), iid: Number(request.params.merge_request_iid) };
}

function findNote(request: HandlerRequest, context: HandlerContext): Note {
  const { project, iid } = target(request, context);
  const record = context.state.notes.get(Number(request.params.note_id));
  if (!record || record.project !== project || record.mergeRequestIid !== iid) throw new GitLabError(404, '404 Note Not Found');
  return record.value;
}

// Grape's `requires :body` accepts "", the model then refuses a blank note; `allow_blank: false`
// refuses it on update before that.
function noteText(body: unknown, update: boolean): string {
  const text = bodyObject(body).body;
  if (typeof text === 'string' && text.trim() !== '') return text;
  if (update) throw new GitLabError(400, 'body is empty', true, 'error');
  throw new GitLabError(400, "Note can't be blank", true);
}

export const listNotes: Handler = (request, context) => {
  const { project, iid } = target(request, context);
  const field = request.query.get('order_by') === 'updated_at' ? 'updated_at' : 'created_at';
  const direction = request.query.get('sort') === 'asc' ? 1 : -1;
  const notes = context.state
    .notesOf(project, iid)
    .map((n) => n.value)
    .sort((a, b) => direction * (a[field].localeCompare(b[field]) || a.id - b.id));
  const page = paginate(notes, request.url);
  return { status: 200, body: structuredClone(page.items), headers: page.headers };
};

export const showNote: Handler = (request, context) => ({ status: 200, body: structuredClone(findNote(request, context)) });

export const createNote: Handler = (request, context) => {
  const { project, iid } = target(request, context);
  const text = noteText(request.body, false);
  const now = timestamp();
  const note: Note = {
    id: context.state.nextId(),
    body: text,
    attachment: null,
    author: noteAuthor(context.user, context.webUrl),
    created_at: now,
    updated_at: now,
    system: false,
    noteable_id: context.state.mergeRequestId(project, iid),
    noteable_type: 'MergeRequest',
    project_id: context.state.projectId(project),
    noteable_iid: iid,
    resolvable: false,
    confidential: false,
    internal: false,
  };
  context.state.notes.set(note.id, { project, mergeRequestIid: iid, value: note });
  return { status: 201, body: structuredClone(note) };
};

export const editNote: Handler = (request, context) => {
  const note = findNote(request, context);
  note.body = noteText(request.body, true);
  note.updated_at = timestamp();
  return { status: 200, body: structuredClone(note) };
};
