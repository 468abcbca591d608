import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_TOKEN_TTL_SECONDS } from './auth/index.js';
import { checkConfigFile, formatIssues, loadConfig } from './config/index.js';
import { isHubError } from './errors/index.js';
import { openAdminContext } from './cli/admin-context.js';
import { serve } from './cli/serve.js';
import { registerUsersCommands } from './cli/users-commands.js';
import { createDatabase, migrateToLatest } from './store/index.js';
import path from 'node:path';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const config = () => loadConfig({ env: process.env, cwd: process.cwd() });
const program = new Command('switchboard')
  .description('A multi-user hub for MCP servers')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the hub')
  .action(async () => serve(await config()));

program
  .command('migrate')
  .description('apply database migrations')
  .action(async () => {
    const env = (await config()).env;
    const database = await createDatabase({
      databaseUrl: env.databaseUrl,
      sqlitePath: path.join(env.dataDir, 'switchboard.db'),
    });
    try {
      const applied = await migrateToLatest(database.db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await database.close();
    }
  });

registerUsersCommands(program, config);

program
  .command('token <email>')
  .description('print a bearer JWT for a user')
  .option('--ttl <seconds>', 'lifetime in seconds', positiveInt, DEFAULT_TOKEN_TTL_SECONDS)
  .action(async (email: string, opts: { ttl: number }) => {
    const ctx = await openAdminContext(await config());
    try {
      const user = await ctx.repos.users.findByEmail(email);
      if (!user) {
        console.error(`no user with email ${email}`);
        process.exitCode = 1;
        return;
      }
      console.log(await ctx.identity.issueToken(user, opts.ttl));
    } finally {
      await ctx.close();
    }
  });

program
  .command('config')
  .description('configuration tools')
  .command('check [file]')
  .description('validate switchboard.yaml; prints every error with its key path')
  .action(async (file: string | undefined) => {
    const target = file ?? process.env.SWITCHBOARD_CONFIG ?? 'switchboard.yaml';
    const result = await checkConfigFile(path.resolve(target), process.env);
    if (result.ok) {
      console.log(`${target}: ok`);
      // Accepted keys the hub does not act on: said once each, as the hub says at start.
      for (const w of result.warnings) {
        console.warn(`warning: '${w.key}' (${w.paths.join(', ')}) is accepted but not used: ${w.reason}`);
      }
      return;
    }
    console.error(`${target}: ${result.issues.length} error(s)`);
    console.error(formatIssues(result.issues));
    process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isHubError(err) && err.code === 'HUB_ERR_CONFIG_INVALID') {
    const issues = (err.details?.errors ?? []) as Parameters<typeof formatIssues>[0];
    console.error(`switchboard: configuration is invalid\n${formatIssues(issues)}`);
  } else if (isHubError(err)) {
    console.error(`switchboard: ${err.message} (${err.code})`);
  } else {
    console.error('switchboard:', err instanceof Error ? err.message : err);
  }
  process.exitCode = 1;
}
