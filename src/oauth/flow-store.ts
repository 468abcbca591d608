import { z } from 'zod';
import type { Clock, Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import { clientRefSchema } from './clients.js';
import { flowDoneChannel, flowKey, stateClaimKey, stateKey } from './flow-ids.js';
import { authorizationServerInfoSchema } from './metadata.js';
import type { FlowStatusView } from './types.js';

const flowRecordSchema = z.object({
  status: z.enum(['PENDING', 'COMPLETED', 'FAILED']),
  createdAt: z.number(),
  /** Minted when the flow opens; every state of the flow carries it, so cancel voids them all. */
  epoch: z.string(),
  userId: z.string(),
  serverName: z.string(),
  error: z.string().nullable(),
});
/** A flow record: `oauth:flow:<userId:serverName>`. */
export type FlowRecord = z.infer<typeof flowRecordSchema>;

const stateRecordSchema = z.object({
  v: z.literal(1),
  flowId: z.string(),
  userId: z.string(),
  serverName: z.string(),
  serverUrl: z.string(),
  issuer: z.string(),
  redirectUri: z.string(),
  resource: z.string(),
  scope: z.string().nullable(),
  clientRef: clientRefSchema,
  /** The destination digest of the server's config when the flow began; the tokens carry it. */
  binding: z.string(),
  createdAt: z.number(),
  epoch: z.string(),
  as: authorizationServerInfoSchema,
  /** The PKCE verifier and the client's credentials, sealed by the keyring: never in the KV in clear. */
  sealed: z.string(),
});
/** One authorization attempt: `oauth:state:<state>`, single use. */
export type StateRecord = z.infer<typeof stateRecordSchema>;

const stateClaimSchema = z.object({
  /** `exchanging`: a callback is redeeming the code (or died doing so); `exchanged`: tokens held. */
  phase: z.enum(['exchanging', 'exchanged']),
  /** Epoch ms (hub clock) of the claim. */
  at: z.number(),
  /** The tokens the AS issued, sealed by the keyring (`held-tokens.ts`); only when `exchanged`. */
  tokens: z.string().optional(),
});
/**
 * The claim on a state, `oauth:state-claim:<state>`. It outlives the state, so a state is claimed
 * once: its code reaches the token endpoint at most once, whatever happens to the callback after.
 */
export type StateClaim = z.infer<typeof stateClaimSchema>;

/** What {@link FlowStore.claimState} found: this caller won, or the claim someone else holds. */
export type ClaimOutcome = { won: true } | { won: false; claim: StateClaim | null };

/** The `error` of a flow the user cancelled. */
export const CANCELLED_ERROR = 'cancelled';

/** How a flow ended. */
export type FlowOutcome = { status: 'COMPLETED' } | { status: 'FAILED'; error: string };

/** Flow and state records in the KV, shared by every instance. */
export interface FlowStore {
  /** Opens the flow (or joins the PENDING one, renewing its TTL); returns its epoch. */
  open(flowId: string, userId: string, serverName: string): Promise<string>;
  /** Stores a new state record; set-if-absent, so a state can never be overwritten. */
  putState(state: string, record: StateRecord): Promise<void>;
  /** Reads a state record without consuming it; null when unknown, expired or malformed. */
  peekState(state: string): Promise<StateRecord | null>;
  /**
   * Claims a state (set-if-absent): of many concurrent callers exactly one wins and may redeem the
   * code; the others get the winner's claim. The state itself stays until {@link dropState}.
   */
  claimState(state: string): Promise<ClaimOutcome>;
  /** Marks a won claim `exchanged` with the sealed tokens, so a later callback can store them. */
  holdTokens(state: string, sealedTokens: string): Promise<void>;
  /** Consumes a state for good: the state first, so nothing can claim it again, then its claim. */
  dropState(state: string): Promise<void>;
  getFlow(flowId: string): Promise<FlowRecord | null>;
  /** Records the outcome (unless a newer flow replaced this epoch) and wakes waiters at once. */
  finish(flowId: string, epoch: string, outcome: FlowOutcome): Promise<void>;
  /**
   * Ends a PENDING flow as FAILED with {@link CANCELLED_ERROR} (remembered for one flow TTL) and wakes
   * waiters; false when no flow was pending (a completed or failed one is left as it is).
   */
  cancel(flowId: string): Promise<boolean>;
  wait(flowId: string, timeoutMs: number, signal?: AbortSignal): Promise<FlowStatusView | null>;
}

function parse<T>(schema: z.ZodType<T>, text: string | null): T | null {
  if (text === null) return null;
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/** Builds the {@link FlowStore}. */
export function createFlowStore(deps: { kv: Kv; clock: Clock; random: Random; ttlMs: number }): FlowStore {
  const { kv, ttlMs } = deps;
  const getFlow = async (flowId: string): Promise<FlowRecord | null> =>
    parse(flowRecordSchema, await kv.get(flowKey(flowId)));
  const view = (flow: FlowRecord | null): FlowStatusView | null =>
    flow ? { status: flow.status, error: flow.error } : null;
  const announce = (flowId: string, status: string): Promise<void> =>
    kv.publish(flowDoneChannel(flowId), JSON.stringify({ status }));

  return {
    async open(flowId, userId, serverName) {
      // A few rounds settle a race between concurrent initiations: one creates, the rest join it.
      for (let round = 0; round < 5; round += 1) {
        const current = await getFlow(flowId);
        if (current?.status === 'PENDING') {
          await kv.set(flowKey(flowId), JSON.stringify(current), { ttlMs });
          return current.epoch;
        }
        const fresh: FlowRecord = {
          status: 'PENDING',
          createdAt: deps.clock.now(),
          epoch: deps.random.bytes(16).toString('base64url'),
          userId,
          serverName,
          error: null,
        };
        if (current) {
          await kv.set(flowKey(flowId), JSON.stringify(fresh), { ttlMs });
          return fresh.epoch;
        }
        if (await kv.setIfAbsent(flowKey(flowId), JSON.stringify(fresh), { ttlMs })) return fresh.epoch;
      }
      throw new HubError('HUB_ERR_CONFLICT', { message: 'Could not open the OAuth flow; try again' });
    },

    async putState(state, record) {
      if (!(await kv.setIfAbsent(stateKey(state), JSON.stringify(record), { ttlMs }))) {
        // 256 random bits never collide; if they did, reusing the record would mix two flows.
        throw new HubError('HUB_ERR_INTERNAL', { message: 'OAuth state collision' });
      }
    },

    peekState: async (state) => parse(stateRecordSchema, await kv.get(stateKey(state))),

    async claimState(state) {
      const claim: StateClaim = { phase: 'exchanging', at: deps.clock.now() };
      // The claim lives a whole flow window, so it outlives the state it guards.
      if (await kv.setIfAbsent(stateClaimKey(state), JSON.stringify(claim), { ttlMs })) return { won: true };
      return { won: false, claim: parse(stateClaimSchema, await kv.get(stateClaimKey(state))) };
    },

    async holdTokens(state, sealedTokens) {
      const claim: StateClaim = { phase: 'exchanged', at: deps.clock.now(), tokens: sealedTokens };
      await kv.set(stateClaimKey(state), JSON.stringify(claim), { ttlMs });
    },

    async dropState(state) {
      await kv.delete(stateKey(state));
      await kv.delete(stateClaimKey(state));
    },

    getFlow,

    async finish(flowId, epoch, outcome) {
      const current = await getFlow(flowId);
      const replaced = current !== null && current.epoch !== epoch;
      // A late failure of a second attempt must not hide that the flow already succeeded.
      const downgrade = current?.status === 'COMPLETED' && outcome.status === 'FAILED';
      if (!replaced && !downgrade) {
        const record: FlowRecord = {
          status: outcome.status,
          createdAt: current?.createdAt ?? deps.clock.now(),
          epoch,
          userId: current?.userId ?? '',
          serverName: current?.serverName ?? '',
          error: outcome.status === 'FAILED' ? outcome.error : null,
        };
        await kv.set(flowKey(flowId), JSON.stringify(record), { ttlMs });
      }
      await announce(flowId, outcome.status);
    },

    async cancel(flowId) {
      const current = await getFlow(flowId);
      if (current?.status !== 'PENDING') return false;
      // Kept as FAILED, not deleted, so a client polling the status learns the flow ended. A new
      // epoch voids every state of the cancelled attempt; the record lives one flow window at most.
      const cancelled: FlowRecord = {
        ...current,
        status: 'FAILED',
        epoch: deps.random.bytes(16).toString('base64url'),
        error: CANCELLED_ERROR,
      };
      await kv.set(flowKey(flowId), JSON.stringify(cancelled), { ttlMs });
      await announce(flowId, 'CANCELLED');
      return true;
    },

    async wait(flowId, timeoutMs, signal) {
      let wake: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      // Subscribe before reading, so a completion between the two cannot be missed.
      const unsubscribe: KvUnsubscribe = await kv.subscribe(flowDoneChannel(flowId), () => wake());
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', wake, { once: true });
      try {
        const first = await getFlow(flowId);
        if (first === null || first.status !== 'PENDING' || signal?.aborted === true) return view(first);
        await woken;
        return view(await getFlow(flowId));
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        await unsubscribe();
      }
    },
  };
}
