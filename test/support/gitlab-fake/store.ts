// The fake's memory: projects (numeric IDs and paths naming the same project once seeded), merge
// request notes and commit statuses. Projects and merge requests exist as soon as they are used.
import type { CommitStatus, Note } from './resources.js';

export interface ProjectSeed {
  /** The numeric project ID (CI_PROJECT_ID). */
  id: number;
  /** The full path (CI_PROJECT_PATH), which clients send URL-encoded: `group%2Fproject`. */
  path: string;
}

export interface NoteRecord {
  project: string;
  mergeRequestIid: number;
  value: Note;
}

export interface StatusRecord {
  project: string;
  value: CommitStatus;
}

export class GitLabState {
  readonly notes = new Map<number, NoteRecord>();
  readonly statuses: StatusRecord[] = [];
  private readonly aliases = new Map<string, string>();
  private readonly projectIds = new Map<string, number>();
  private readonly mergeRequestIds = new Map<string, number>();
  private readonly pipelineIds = new Map<string, number>();
  private counter = 1000;

  nextId(): number {
    return ++this.counter;
  }

  seedProject(seed: ProjectSeed): void {
    this.aliases.set(seed.path, String(seed.id));
    this.projectIds.set(String(seed.id), seed.id);
  }

  /** The canonical key of a project named by its ID or its (decoded) path. */
  project(idOrPath: string | number): string {
    const key = String(idOrPath);
    return this.aliases.get(key) ?? key;
  }

  /** The numeric ID entities report for a project; a path nobody seeded gets a stable made-up one. */
  projectId(project: string): number {
    let id = this.projectIds.get(project);
    if (id === undefined) {
      id = /^\d+$/.test(project) ? Number(project) : this.nextId();
      this.projectIds.set(project, id);
    }
    return id;
  }

  /** The global ID of a merge request (`noteable_id`), given its project and IID. */
  mergeRequestId(project: string, iid: number): number {
    const key = `${project}!${iid}`;
    let id = this.mergeRequestIds.get(key);
    if (id === undefined) this.mergeRequestIds.set(key, (id = this.nextId()));
    return id;
  }

  /** The pipeline a status joins when the client names none, one per commit and ref, as GitLab does. */
  pipelineId(project: string, sha: string, ref: string): number {
    const key = `${project}@${sha}@${ref}`;
    let id = this.pipelineIds.get(key);
    if (id === undefined) this.pipelineIds.set(key, (id = this.nextId()));
    return id;
  }

  notesOf(project: string, iid: number): NoteRecord[] {
    return [...this.notes.values()].filter((n) => n.project === project && n.mergeRequestIid === iid);
  }
}
