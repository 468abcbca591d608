export { type Clock, systemClock } from './clock.js';
export { type Random, systemRandom } from './random.js';
export { FrozenMemo } from './frozen-memo.js';
export { jsonBody, bodyLength, bodyForWrite } from './json-bytes.js';
export { parseJsonRpcMessage, isInitializeMessage } from './jsonrpc-message.js';
export { RequestSignal } from './request-signal.js';
