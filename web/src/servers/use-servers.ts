import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { useSession } from '../session.ts';
import {
  getConnectionStatus,
  getEffectiveBits,
  getServerConfigs,
  getServerOwner,
  getTokenMetadata,
  getToolsListing,
  SHARE_BIT,
  type ServerConfigView,
  type ToolsListing,
  type UserVarField,
} from './servers-api.ts';

/** How often the connection states are asked for again while the screen is open. */
export const STATUS_POLL_MS = 3000;

/** Query keys of the Servers screen, all under `servers` so one invalidation refreshes the lot. */
export const KEYS = {
  all: ['servers'] as const,
  tools: ['servers', 'tools'] as const,
  configs: ['servers', 'configs'] as const,
  bits: ['servers', 'bits'] as const,
  status: ['servers', 'status'] as const,
  owner: (name: string) => ['servers', 'owner', name] as const,
  tokens: (flowId: string) => ['servers', 'tokens', flowId] as const,
  authValues: (name: string) => ['servers', 'auth-values', name] as const,
};

/** Who a server belongs to, as the screen says it. */
export type Owner =
  | { kind: 'admin' }
  | { kind: 'you' }
  | { kind: 'user'; email: string | null }
  | { kind: 'shared' }
  | { kind: 'unknown' };

/** One server as the screen shows it: the tools listing and the configuration put together. */
export interface ServerEntry {
  name: string;
  /** The configured title, else the name. */
  title: string;
  description: string | null;
  icon: string;
  type: ServerConfigView['type'] | null;
  source: ServerConfigView['source'] | null;
  dbId: string | null;
  requiresOAuth: boolean;
  /** The caller may use it now (authorized, variables set). */
  authenticated: boolean;
  tools: ToolsListing['tools'];
  customUserVars: Record<string, UserVarField>;
}

function entryOf(
  name: string,
  listing: ToolsListing | undefined,
  config: ServerConfigView | undefined,
): ServerEntry {
  return {
    name,
    title: config?.title ?? name,
    description: config?.description ?? null,
    icon: listing?.icon ?? config?.iconPath ?? '',
    type: config?.type ?? null,
    source: config?.source ?? null,
    dbId: config?.dbId ?? null,
    requiresOAuth: config?.requiresOAuth ?? false,
    authenticated: listing?.authenticated ?? false,
    tools: listing?.tools ?? [],
    customUserVars: config?.customUserVars ?? {},
  };
}

/**
 * Every server the caller may use: the tools listing (what is usable now) joined with the
 * configurations (title, description, transport, variables). A server in either is listed.
 */
export function useServerEntries() {
  const tools = useQuery({ queryKey: KEYS.tools, queryFn: getToolsListing });
  const configs = useQuery({ queryKey: KEYS.configs, queryFn: getServerConfigs });
  const pending = tools.isPending || configs.isPending;
  const error = tools.error ?? configs.error;
  let entries: ServerEntry[] | undefined;
  if (tools.data !== undefined && configs.data !== undefined) {
    const names = [...new Set([...Object.keys(tools.data), ...Object.keys(configs.data)])].sort();
    entries = names.map((name) => entryOf(name, tools.data[name], configs.data[name]));
  }
  return { entries, pending, error };
}

/** The connection states, polled while the screen is open. */
export function useConnectionStatus() {
  return useQuery({ queryKey: KEYS.status, queryFn: getConnectionStatus, refetchInterval: STATUS_POLL_MS });
}

/**
 * The owner of each listed server: YAML servers are the administrator's; a user-created one is the
 * caller's own or another user's when the caller may read its sharing (SHARE), else shared with them.
 */
export function useOwners(entries: readonly ServerEntry[] | undefined): Record<string, Owner> {
  const { user } = useSession();
  const hasUserServers = entries?.some((entry) => entry.source === 'user') ?? false;
  const bits = useQuery({ queryKey: KEYS.bits, queryFn: getEffectiveBits, enabled: hasUserServers });
  const shareable = (entries ?? []).filter(
    (entry) =>
      entry.source === 'user' && entry.dbId !== null && ((bits.data?.[entry.dbId] ?? 0) & SHARE_BIT) !== 0,
  );
  const owners = useQueries({
    queries: shareable.map((entry) => ({
      queryKey: KEYS.owner(entry.name),
      queryFn: () => getServerOwner(entry.name),
      staleTime: 60_000,
    })),
  });
  const result: Record<string, Owner> = {};
  for (const entry of entries ?? []) {
    if (entry.source === 'yaml') result[entry.name] = { kind: 'admin' };
    else if (entry.source === 'user')
      result[entry.name] = bits.isSuccess ? { kind: 'shared' } : { kind: 'unknown' };
    else result[entry.name] = { kind: 'unknown' };
  }
  shareable.forEach((entry, index) => {
    const owner = owners[index]?.data;
    if (owner === undefined) result[entry.name] = { kind: 'unknown' };
    else if (owner.id === user.id) result[entry.name] = { kind: 'you' };
    else result[entry.name] = { kind: 'user', email: owner.email };
  });
  return result;
}

/**
 * The token metadata of an authorized OAuth server: the caller's own, or for an admin the shared
 * (`system`) authorization's when the server is authorized once for everyone. Null when the hub
 * tells none (it keeps a finished flow for a few minutes only).
 */
export function useTokenMetadata(serverName: string, enabled: boolean) {
  const { user } = useSession();
  const flowId = `${user.id}:${serverName}`;
  const isAdmin = user.role === 'ADMIN';
  return useQuery({
    queryKey: KEYS.tokens(flowId),
    queryFn: async () =>
      (await getTokenMetadata(flowId)) ?? (isAdmin ? await getTokenMetadata(`system:${serverName}`) : null),
    enabled,
    refetchInterval: 60_000,
  });
}

/** The current time, renewed every `everyMs` so "expires in N min" counts down on its own. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Refreshes everything the screen shows after a change (connect, disconnect, sign-in, variables). */
export function useRefreshServers(): () => Promise<void> {
  const queryClient = useQueryClient();
  return useCallback(() => queryClient.invalidateQueries({ queryKey: KEYS.all }), [queryClient]);
}

/** A transport's name for people. */
export const TRANSPORT_LABELS: Record<ServerConfigView['type'], string> = {
  stdio: 'Local process (stdio)',
  sse: 'Server-sent events (SSE)',
  'streamable-http': 'Streamable HTTP',
  websocket: 'WebSocket',
};
