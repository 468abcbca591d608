import { describe, expect, it } from 'vitest';
import { groupNames, groupsClaimIsDistributed, identityFrom, MAX_GROUPS, needsUserinfo } from './claims.js';

const ISSUER = 'https://idp.example.com';

describe('groupNames', () => {
  it('takes a list of strings, trimmed, without blanks, repeats or non-strings', () => {
    expect(groupNames([' eng ', 'ops', 'eng', '', 7, null, 'x'.repeat(257)])).toEqual({
      names: ['eng', 'ops'],
      truncated: false,
    });
  });

  it('reads a single string as one group and anything else as none', () => {
    expect(groupNames('eng').names).toEqual(['eng']);
    expect(groupNames({ eng: true }).names).toEqual([]);
    expect(groupNames(undefined).names).toEqual([]);
  });

  it('keeps at most MAX_GROUPS and says so', () => {
    const many = Array.from({ length: MAX_GROUPS + 3 }, (_, i) => `g${i}`);
    const result = groupNames(many);
    expect(result.names).toHaveLength(MAX_GROUPS);
    expect(result.truncated).toBe(true);
  });
});

describe('identityFrom', () => {
  it('prefers the ID token and fills what it lacks from userinfo', () => {
    const identity = identityFrom(
      ISSUER,
      { sub: 's1', email: 'a@example.com', email_verified: true },
      { sub: 's1', groups: ['eng'] },
      'groups',
    );
    expect(identity).toEqual({
      issuer: ISSUER,
      subject: 's1',
      email: 'a@example.com',
      emailVerified: true,
      groups: ['eng'],
      groupsTruncated: false,
    });
  });

  it('never lets one source vouch for the email of another', () => {
    // The ID token's email is unverified; userinfo's `email_verified` is about its own address.
    const identity = identityFrom(
      ISSUER,
      { sub: 's1', email: 'a@example.com' },
      { sub: 's1', email: 'b@example.com', email_verified: true },
      undefined,
    );
    expect(identity).toMatchObject({ email: 'a@example.com', emailVerified: false });
  });

  it('reads email_verified only as the boolean true', () => {
    const identity = identityFrom(
      ISSUER,
      { sub: 's1', email: 'a@example.com', email_verified: 'true' },
      undefined,
      undefined,
    );
    expect(identity.emailVerified).toBe(false);
  });

  it('an absent groups claim is no groups', () => {
    expect(identityFrom(ISSUER, { sub: 's1' }, undefined, 'groups').groups).toEqual([]);
  });
});

describe('when to ask userinfo', () => {
  it('asks when the ID token lacks the email or the groups claim', () => {
    expect(needsUserinfo({ sub: 's' }, undefined)).toBe(true);
    expect(needsUserinfo({ sub: 's', email: 'a@example.com' }, undefined)).toBe(false);
    expect(needsUserinfo({ sub: 's', email: 'a@example.com' }, 'groups')).toBe(true);
    expect(needsUserinfo({ sub: 's', email: 'a@example.com', groups: [] }, 'groups')).toBe(false);
  });

  it('notices a groups claim sent by reference (OpenID Connect Core §5.6.2)', () => {
    expect(groupsClaimIsDistributed({ _claim_names: { groups: 'src1' } }, 'groups')).toBe(true);
    expect(groupsClaimIsDistributed({ groups: [] }, 'groups')).toBe(false);
  });
});
