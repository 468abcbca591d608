import path from 'node:path';
import type { z } from 'zod';

/** Shells run whatever their arguments say: a stdio server must be a program, not a shell (SX-02). */
const SHELLS = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'fish',
  'csh',
  'tcsh',
  'cmd',
  'cmd.exe',
  'powershell',
  'powershell.exe',
  'pwsh',
]);

/** Interpreter flags that run code given inline or preload a module instead of a server (SX-02, SX-03). */
const CODE_FLAGS = new Set([
  '-e',
  '--eval',
  '-p',
  '--print',
  '-c',
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
]);

/** Variables that change how a child loads code, whoever its program is (SX-04). */
const LOADER_ENV =
  /^(NODE_OPTIONS|NODE_PATH|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|DYLD_.*|PATH|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|BASH_ENV|ENV|JAVA_TOOL_OPTIONS)$/;

interface StdioFields {
  command: string;
  args: string[];
  env?: Record<string, string> | undefined;
}

/**
 * The admin's stdio servers are still checked (SECURITY-TESTS §5.6): no shells, no inline-code or
 * preload flags, no loader-changing environment, and a command that is either a bare program name
 * (looked up on PATH) or an absolute path, never a relative one that depends on the hub's cwd.
 */
export function checkStdioPolicy(server: StdioFields, ctx: z.RefinementCtx): void {
  const base = path.basename(server.command).toLowerCase();
  if (SHELLS.has(base)) {
    ctx.addIssue({
      code: 'custom',
      path: ['command'],
      message: `shells are not allowed as MCP servers ('${base}')`,
    });
  }
  if (server.command.includes('/') && !path.isAbsolute(server.command)) {
    ctx.addIssue({
      code: 'custom',
      path: ['command'],
      message: 'must be a program name or an absolute path',
    });
  }
  server.args.forEach((arg, i) => {
    const flag = arg.split('=')[0] ?? arg;
    if (CODE_FLAGS.has(flag)) {
      ctx.addIssue({
        code: 'custom',
        path: ['args', i],
        message: `'${flag}' runs inline or preloaded code and is not allowed`,
      });
    }
  });
  for (const name of Object.keys(server.env ?? {})) {
    if (LOADER_ENV.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['env', name],
        message: `'${name}' changes how programs load code and is not allowed`,
      });
    }
  }
}
