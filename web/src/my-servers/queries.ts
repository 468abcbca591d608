import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSession } from '../session.ts';
import {
  getEffectiveBits,
  getPermissions,
  getRolePermissions,
  getServer,
  listUserServers,
  type ServerView,
} from './my-servers-api.ts';

/** The My servers screen's queries: one key family, so a change refreshes all of it at once. */
export const MY_SERVERS_KEY = ['my-servers'] as const;

/** The user servers the caller can see. */
export function useUserServers() {
  return useQuery({ queryKey: [...MY_SERVERS_KEY, 'list'], queryFn: listUserServers });
}

/** The caller's bits on each user server, by server id. */
export function useEffectiveBits() {
  return useQuery({ queryKey: [...MY_SERVERS_KEY, 'bits'], queryFn: getEffectiveBits });
}

/** What the caller's role may do (create, share, share with everyone). */
export function useRolePermissions() {
  const { user } = useSession();
  return useQuery({
    queryKey: [...MY_SERVERS_KEY, 'role', user.role],
    queryFn: () => getRolePermissions(user.role),
    staleTime: Infinity,
  });
}

/** One server, for its edit form. */
export function useServer(name: string) {
  return useQuery({ queryKey: [...MY_SERVERS_KEY, 'server', name], queryFn: () => getServer(name) });
}

/** Who a server is shared with; only asked for when the caller may share it. */
export function usePermissions(server: Pick<ServerView, 'serverName' | 'dbId'>, enabled: boolean) {
  return useQuery({
    queryKey: [...MY_SERVERS_KEY, 'permissions', server.serverName],
    queryFn: () => getPermissions(server.serverName, server.dbId),
    enabled,
  });
}

/**
 * Refreshes this screen and the Servers and Tools screens' lists: a server added, changed, shared or
 * deleted here changes what those show too.
 */
export function useRefreshAfterChange() {
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: MY_SERVERS_KEY }),
      queryClient.invalidateQueries({ queryKey: ['servers'] }),
      queryClient.invalidateQueries({ queryKey: ['connection-status'] }),
    ]);
  };
}
