import { tokenMisfit, type TokenMisfit } from './token-binding.js';
import type { UncheckedTokens } from './token-store.js';
import type { OAuthServerContext } from './types.js';

interface Checked {
  config: OAuthServerContext['config'];
  serverUrl: string;
  misfit: TokenMisfit | null;
}

/**
 * {@link tokenMisfit} remembered per cached token set and connection: a warm request to an OAuth
 * server computes no destination digest and parses no URL. Only for a frozen token set and a frozen
 * config (neither can change under the answer); anything else is checked every time.
 */
export class TokenFits {
  private readonly checked = new WeakMap<UncheckedTokens, Checked>();

  misfit(tokens: UncheckedTokens, ctx: OAuthServerContext): TokenMisfit | null {
    const known = this.checked.get(tokens);
    if (known !== undefined && known.config === ctx.config && known.serverUrl === ctx.serverUrl) {
      return known.misfit;
    }
    const misfit = tokenMisfit(tokens, ctx);
    if (Object.isFrozen(tokens) && Object.isFrozen(ctx.config)) {
      this.checked.set(tokens, { config: ctx.config, serverUrl: ctx.serverUrl, misfit });
    }
    return misfit;
  }
}
