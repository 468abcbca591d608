import type { AddressInfo } from 'node:net';
import axios from 'axios';
import type { FastifyInstance } from 'fastify';
import { setTokenHeader } from 'librechat-data-provider';

/**
 * Puts the hub on a loopback port and points LibreChat's client package at it, as a Node user of
 * `librechat-data-provider` must: the package sends root-relative URLs (there is no page origin
 * outside a browser), so axios's default base URL decides where they go. Returns the hub's URL.
 */
export async function pointLibreChatClientAt(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  axios.defaults.baseURL = url;
  return url;
}

/** Undoes {@link pointLibreChatClientAt} and forgets the token the package was given. */
export function resetLibreChatClient(): void {
  setTokenHeader(undefined);
  delete axios.defaults.baseURL;
}
