import { Agent, fetch as undiciFetch } from 'undici';

/**
 * The soak's own HTTP client towards the hub. Its idle keep-alive sockets are open file
 * descriptors in the hub too (the hub keeps idle connections 72 s), so before each measurement the
 * soak closes them: what is left open in the hub is then the hub's own doing.
 */
export class ClientAgent {
  private agent = new Agent();

  /** `fetch` through the current agent (the MCP SDK transport takes it as its `fetch`). */
  readonly fetch = ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher: this.agent })) as unknown as typeof fetch;

  /** Closes every socket (call with nothing in flight); later requests open new ones. */
  async closeSockets(): Promise<void> {
    const old = this.agent;
    this.agent = new Agent();
    await old.close();
  }
}
