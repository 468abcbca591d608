import * as Tabs from '@radix-ui/react-tabs';
import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { messageOf } from '../api.ts';
import { getEndpointUrl, getServerNames } from './apps-api.ts';
import { clientConfigs } from './client-configs.ts';
import { CopyBlock } from './CopyBlock.tsx';

/** The value of the endpoint choice meaning "every tool" (server names cannot start with `*`). */
const ALL = '*all';

/**
 * The hub's MCP URL to give an app (every tool, or one server's), and ready-to-paste
 * configurations of common clients for it, one tab each.
 */
export function EndpointPanel() {
  const [choice, setChoice] = useState(ALL);
  const server = choice === ALL ? null : choice;
  const selectId = useId();
  const hintId = useId();
  const servers = useQuery({ queryKey: ['apps-server-names'], queryFn: getServerNames });
  const endpoint = useQuery({
    queryKey: ['mcp-endpoint', server],
    queryFn: () => getEndpointUrl(server),
    staleTime: Infinity,
  });
  const entryName = server === null ? 'switchboard' : `switchboard-${server}`;

  return (
    <section aria-labelledby="connect-heading" className="card apps-connect">
      <h2 id="connect-heading">Connect an app</h2>
      <p>
        Give an MCP client this URL. The first time, the app opens the hub's sign-in page in your browser and
        asks you to approve it; once you do, it shows up under “Apps you allowed” above, where you can revoke
        it.
      </p>
      <label htmlFor={selectId}>
        Endpoint
        <select
          id={selectId}
          className="apps-select"
          value={choice}
          aria-describedby={hintId}
          onChange={(event) => setChoice(event.target.value)}
        >
          <option value={ALL}>All your tools</option>
          {(servers.data ?? []).map((name) => (
            <option key={name} value={name}>
              Only {name}
            </option>
          ))}
        </select>
      </label>
      <p className="muted" id={hintId}>
        {server === null
          ? 'One URL for every server you may use; each tool is named server__tool.'
          : `Only ${server}'s tools, under their own names.`}
      </p>
      {servers.isError && (
        <p role="alert" className="alert">
          Your servers could not be listed: {messageOf(servers.error)}
        </p>
      )}
      {endpoint.isPending && <p aria-busy="true">Loading the URL…</p>}
      {endpoint.isError && (
        <p role="alert" className="alert">
          {messageOf(endpoint.error)}
        </p>
      )}
      {endpoint.data !== undefined && (
        <>
          <h3 className="apps-subheading">MCP URL</h3>
          <CopyBlock text={endpoint.data} label="MCP URL" inline />
          <ClientTabs url={endpoint.data} entryName={entryName} />
        </>
      )}
    </section>
  );
}

/** One tab per client, each with where its configuration goes and the text to copy. */
function ClientTabs({ url, entryName }: { url: string; entryName: string }) {
  const configs = clientConfigs(url, entryName);
  return (
    <Tabs.Root defaultValue={configs[0]?.id} className="apps-tabs">
      <h3 className="apps-subheading" id="clients-heading">
        Configuration for your client
      </h3>
      <Tabs.List aria-labelledby="clients-heading" className="apps-tab-list">
        {configs.map((config) => (
          <Tabs.Trigger key={config.id} value={config.id} className="apps-tab">
            {config.label}
          </Tabs.Trigger>
        ))}
      </Tabs.List>
      {configs.map((config) => (
        <Tabs.Content key={config.id} value={config.id} className="apps-tab-panel">
          <p>{config.where}</p>
          <CopyBlock text={config.text} label={`${config.label} configuration`} />
          {config.note !== undefined && <p className="muted">{config.note}</p>}
        </Tabs.Content>
      ))}
    </Tabs.Root>
  );
}
