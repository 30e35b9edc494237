// How a registry's answers become Ferry's errors: retryable ones (5xx, 429, 408) become
// TransientError for the retry loop, refusals of the credentials become InputError (exit 2), and
// anything else unexpected an InfrastructureError (exit 3) carrying the registry's own error codes.
import { InfrastructureError } from '@ferry/core';
import type { HttpResponse } from './http.js';
import { TransientError } from './retry.js';

export interface RegistryErrorDetail {
  code?: string;
  message?: string;
}

/** An answer the operation did not expect. */
export class RegistryResponseError extends InfrastructureError {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: string[],
    service: string,
  ) {
    super(message, { service });
  }
}

/** The error list of a distribution-spec error body, if the body is one. */
export function parseRegistryErrors(body: string): RegistryErrorDetail[] {
  try {
    const parsed = JSON.parse(body) as { errors?: RegistryErrorDetail[] };
    return Array.isArray(parsed.errors) ? parsed.errors : [];
  } catch {
    return [];
  }
}

function retryAfterMs(response: HttpResponse): number | undefined {
  const header = response.header('retry-after');
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Reads the error body and builds the error for an unexpected status. */
export async function unexpectedResponse(response: HttpResponse, what: string, service: string): Promise<Error> {
  const body = await response.text(8 * 1024).catch(() => '');
  const errors = parseRegistryErrors(body);
  const detail = errors.length > 0 ? errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ') : body.trim().slice(0, 200);
  const message = `${what}: HTTP ${response.status}${detail ? ` (${detail})` : ''}`;
  if (response.status >= 500 || response.status === 429 || response.status === 408) return new TransientError(message, retryAfterMs(response));
  return new RegistryResponseError(message, response.status, errors.map((e) => e.code ?? '').filter(Boolean), service);
}
