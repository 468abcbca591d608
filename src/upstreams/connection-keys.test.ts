import { describe, expect, it } from 'vitest';
import { connectionKeyFor, parseConnectionKey, sessionConnectionKey } from './connection-keys.js';

describe('session connection keys', () => {
  const sessionId = '0b6f1c3e-93f4-4a51-9a51-6b1b3c9d2e10';

  it('name the session and its user also for an app-level server, whose shared key names no user', () => {
    const key = sessionConnectionKey(connectionKeyFor('app', 'files', 'u-1', 'relay'), sessionId, 'u-1');
    expect(parseConnectionKey(key)).toEqual({
      profile: 'relay',
      scope: 'app',
      userId: null,
      serverName: 'files',
      sessionId,
      sessionOwner: 'u-1',
    });
  });

  it('keep a user id with `|` and `%` whole, on both sides of the key', () => {
    const userId = 'sso|issuer|50%';
    const key = sessionConnectionKey(connectionKeyFor('user', 'files', userId, 'relay'), sessionId, userId);
    expect(parseConnectionKey(key)).toMatchObject({ scope: 'user', userId, sessionOwner: userId, sessionId });
  });

  it('give shared keys no session and no owner', () => {
    expect(parseConnectionKey(connectionKeyFor('user', 'files', 'u-1', 'relay'))).toMatchObject({
      sessionId: null,
      sessionOwner: null,
    });
  });

  it('refuse a session key without its owner or with a badly encoded one', () => {
    expect(parseConnectionKey(`relay|session|${sessionId}`)).toBeNull();
    expect(parseConnectionKey(`relay|session|${sessionId}|%E0|app|files`)).toBeNull();
    expect(parseConnectionKey('relay|session||u-1|app|files')).toBeNull();
  });
});
