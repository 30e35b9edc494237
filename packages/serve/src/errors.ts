// Failures of one HTTP request, with the status code the Open Inference Protocol gives them. They
// never escape a request: the server turns each into a `{"error": "..."}` body.

/** Why a request failed, as the `reason` label of the error counter. */
export type FailureReason =
  | 'bad_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'overloaded'
  | 'timeout'
  | 'client_closed'
  | 'injected'
  | 'internal';

const STATUS: Readonly<Record<FailureReason, number>> = {
  bad_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  overloaded: 503,
  timeout: 504,
  // nginx's code for a client that went away before the answer; it never reaches that client.
  client_closed: 499,
  injected: 500,
  internal: 500,
};

export class RequestError extends Error {
  readonly status: number;
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'RequestError';
    this.status = STATUS[reason];
  }
}

/** A 400 about the request's content: a tensor, a shape, a data type, the JSON itself. */
export function badRequest(message: string): RequestError {
  return new RequestError('bad_request', message);
}
