import { HubError } from '../errors/index.js';

/**
 * Paging cursors are opaque to clients: base64url of the position, so a client cannot
 * come to depend on its shape and the shape can change.
 */
export function encodeCursor(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

/**
 * The position inside a cursor this hub handed out; `HUB_ERR_BAD_REQUEST` for anything else
 * (strict base64url, and the decoded text must have the expected shape).
 */
export function decodeCursor(cursor: string, shape: RegExp): string {
  const invalid = new HubError('HUB_ERR_BAD_REQUEST', { message: 'Invalid cursor' });
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw invalid;
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(position) !== cursor || !shape.test(position)) throw invalid;
  return position;
}
