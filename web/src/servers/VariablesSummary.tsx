import { useQuery } from '@tanstack/react-query';
import { getAuthValueFlags } from './servers-api.ts';
import { KEYS, type ServerEntry } from './use-servers.ts';

/** On a card: how many of the server's variables the caller has set (never which values). */
export function VariablesSummary({ server }: { server: ServerEntry }) {
  const total = Object.keys(server.customUserVars).length;
  const flags = useQuery({
    queryKey: KEYS.authValues(server.name),
    queryFn: () => getAuthValueFlags(server.name),
    enabled: total > 0,
  });
  if (total === 0) return null;
  if (flags.data === undefined) return <p className="muted">Variables: {total}</p>;
  const set = Object.values(flags.data).filter(Boolean).length;
  return (
    <p className={set < total ? 'vars-summary vars-missing' : 'vars-summary'} data-testid="variables-summary">
      {set === total ? `All ${total} variables set` : `Variables: ${set} of ${total} set`}
    </p>
  );
}
