import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { messageOf } from '../api.ts';
import { principalName } from './labels.ts';
import { searchPrincipals, type Principal, type PrincipalMatch } from './my-servers-api.ts';
import { MY_SERVERS_KEY } from './queries.ts';

/** How long typing must pause before the hub is asked. */
const SEARCH_DELAY_MS = 250;
/** The hub answers queries of at least this many characters. */
const MIN_QUERY = 2;

/** The text after typing pauses, so the hub is not asked once per key. */
function useSettled(text: string): string {
  const [settled, setSettled] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(text), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return settled;
}

function principalOf(match: PrincipalMatch): Principal {
  return match.type === 'user'
    ? { type: 'user', email: match.email ?? match.name, role: 'viewer' }
    : {
        type: 'group',
        ...(match.id !== undefined ? { id: match.id } : {}),
        name: match.name,
        role: 'viewer',
      };
}

/**
 * Finds people and groups to share with. The hub offers those already on lists the caller shares,
 * the caller's own groups, and any whole address as typed (it never says whether an account has it).
 */
export function PeoplePicker({ onPick }: { onPick: (principal: Principal) => void }) {
  const [text, setText] = useState('');
  const settled = useSettled(text.trim());
  const search = useQuery({
    queryKey: [...MY_SERVERS_KEY, 'people', settled],
    queryFn: () => searchPrincipals(settled),
    enabled: settled.length >= MIN_QUERY,
  });
  // Only answers to what the field holds now: a pick clears it, and its matches go with it.
  const current = settled === text.trim() && settled.length >= MIN_QUERY;
  const matches = current ? (search.data ?? []) : [];

  return (
    <div className="ms-picker">
      <label htmlFor="ms-people">Add a person or group</label>
      <p className="ms-hint muted" id="ms-people-hint">
        Type a whole e-mail address, or part of a group's name.
      </p>
      <input
        id="ms-people"
        type="search"
        autoComplete="off"
        spellCheck={false}
        aria-describedby="ms-people-hint"
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      {search.isError && <p className="alert">{messageOf(search.error)}</p>}
      <p role="status" className="ms-sr">
        {current && search.isSuccess ? (matches.length === 1 ? '1 match' : `${matches.length} matches`) : ''}
      </p>
      {matches.length > 0 && (
        <ul className="ms-matches" aria-label="Matches">
          {matches.map((match) => {
            const principal = principalOf(match);
            const name = principalName(principal);
            return (
              <li key={`${match.type}:${match.id ?? match.email ?? match.name}`}>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    onPick(principal);
                    setText('');
                  }}
                >
                  Add {name}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {current && search.isSuccess && matches.length === 0 && (
        <p className="muted">No match. A person is found by their whole e-mail address.</p>
      )}
    </div>
  );
}
