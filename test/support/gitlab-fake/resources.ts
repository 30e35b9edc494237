// The JSON objects the fake answers with, shaped like GitLab's Grape entities: API_Entities_Note,
// API_Entities_CommitStatus and the API_Entities_UserBasic they embed.

/** Who the token belongs to; a project access token acts as a bot user. */
export interface GitLabUser {
  id: number;
  username: string;
  name: string;
  email: string;
}

/** The user a project access token named "ferry" acts as. */
export const PROJECT_BOT: GitLabUser = {
  id: 9001,
  username: 'project_1_bot_ferry',
  name: 'ferry',
  email: 'project_1_bot_ferry@noreply.gitlab.example',
};

export interface UserBasic {
  id: number;
  username: string;
  public_email: string | null;
  name: string;
  state: string;
  locked: boolean;
  avatar_url: string | null;
  web_url: string;
}

/** A merge-request note as GET/POST/PUT …/notes answer it. */
export interface Note {
  id: number;
  body: string;
  attachment: null;
  author: UserBasic & { email: string; created_at: string };
  created_at: string;
  updated_at: string;
  system: boolean;
  noteable_id: number;
  noteable_type: 'MergeRequest';
  project_id: number;
  noteable_iid: number;
  resolvable: boolean;
  confidential: boolean;
  internal: boolean;
}

/** A commit status as POST /projects/{id}/statuses/{sha} answers it. */
export interface CommitStatus {
  id: number;
  sha: string;
  ref: string;
  status: 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';
  name: string;
  target_url: string | null;
  description: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  allow_failure: boolean;
  coverage: number | null;
  pipeline_id: number;
  author: UserBasic;
}

export function userBasic(user: GitLabUser, webBase: string): UserBasic {
  return {
    id: user.id,
    username: user.username,
    public_email: null,
    name: user.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${webBase}/${user.username}`,
  };
}

/** The note author: the user fields plus the `email` and `created_at` the notes docs show. */
export function noteAuthor(user: GitLabUser, webBase: string): Note['author'] {
  return { ...userBasic(user, webBase), email: user.email, created_at: '2024-01-01T00:00:00.000Z' };
}

/** Timestamps like GitLab's: ISO 8601 with milliseconds, in UTC. */
export function timestamp(date = new Date()): string {
  return date.toISOString();
}
