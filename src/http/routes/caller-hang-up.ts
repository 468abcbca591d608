import type { ServerResponse } from 'node:http';
import { HubError } from '../../errors/index.js';

/**
 * An AbortController that fires when the caller hangs up before the response has been written.
 * It listens on the response, not the request: in Node 20 a request's `close` fires as soon as its
 * body has been read (before the handler runs), so a listener added there never hears a hang-up,
 * and the upstream call used to run on until its timeout. The response's `close` comes with the
 * socket's; `writableFinished` tells a hang-up from the normal end.
 */
export function cancelOnHangUp(response: ServerResponse): AbortController {
  const abort = new AbortController();
  const onClose = () => {
    if (!response.writableFinished) {
      abort.abort(new HubError('HUB_ERR_BAD_REQUEST', { message: 'The caller closed the connection' }));
    }
  };
  if (response.destroyed) onClose();
  else response.once('close', onClose);
  return abort;
}
