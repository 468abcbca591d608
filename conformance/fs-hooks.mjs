// @ts-check
/**
 * Module customization hooks (registered by `node20-preload.mjs` through `module.register`): when
 * the conformance CLI's bundle imports `fs`, it gets `fs-with-glob.mjs` instead. Builtin modules'
 * named exports are fixed when Node creates them, so adding `fs.globSync` at run time would not
 * satisfy `import { globSync } from 'fs'`; swapping the module at resolution does.
 */

const CLI_BUNDLE = '/node_modules/@modelcontextprotocol/conformance/dist/';
const SHIM_URL = new URL('./fs-with-glob.mjs', import.meta.url).href;

/**
 * @param {string} specifier
 * @param {{ parentURL?: string | undefined }} context
 * @param {(specifier: string, context?: object) => Promise<{ url: string }>} nextResolve
 * @returns {Promise<{ url: string, shortCircuit?: boolean }>}
 */
export async function resolve(specifier, context, nextResolve) {
  const fromCli = context.parentURL?.includes(CLI_BUNDLE) === true;
  if (fromCli && (specifier === 'fs' || specifier === 'node:fs')) {
    return { url: SHIM_URL, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
