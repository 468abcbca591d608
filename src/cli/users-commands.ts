import { Argument, type Command, InvalidArgumentError, Option } from 'commander';
import { MIN_PASSWORD_LENGTH, type AccountView } from '../accounts/index.js';
import { hashPassword } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import { openAdminContext, type AdminContext } from './admin-context.js';

/** Reads the whole of standard input (for `--password-stdin`), without the trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function readPassword(): Promise<string> {
  const password = await readStdin();
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new InvalidArgumentError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  return password;
}

function describe(user: AccountView): string {
  return `${user.email} (${user.role}${user.disabled ? ', disabled' : ''}) id=${user.id}`;
}

/**
 * `switchboard users …`: add, list, set-role, disable, enable, set-password, remove. A user is named
 * by email or by id. Changes apply to running hubs from their next request (see admin-context.ts).
 */
export function registerUsersCommands(program: Command, config: () => Promise<HubConfig>): void {
  /** Runs `work` with the admin context open, closing it whatever happens. */
  const withContext = async (work: (ctx: AdminContext) => Promise<void>): Promise<void> => {
    const ctx = await openAdminContext(await config());
    try {
      await work(ctx);
    } finally {
      await ctx.close();
    }
  };

  const users = program.command('users').description('manage users');
  users
    .command('add <email>')
    .description('create a local user')
    .addOption(new Option('--role <role>', 'USER or ADMIN').choices(['USER', 'ADMIN']).default('USER'))
    .option('--password-stdin', 'read the password from standard input')
    .action(async (email: string, opts: { role: 'USER' | 'ADMIN'; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? await readPassword() : undefined;
      await withContext(async (ctx) => {
        const user = await ctx.repos.users.create({
          email,
          role: opts.role,
          passwordHash: password === undefined ? null : await hashPassword(password),
        });
        console.log(`created ${user.email} (${user.role}) id=${user.id}`);
      });
    });

  users
    .command('list')
    .description('list users')
    .action(() =>
      withContext(async (ctx) => {
        for (const u of await ctx.repos.users.list()) {
          const state = u.disabledAt === null ? 'enabled' : 'disabled';
          const login = u.passwordHash ? 'password' : 'no password';
          console.log(`${u.id}\t${u.email}\t${u.role}\t${state}\t${login}\t${u.origin}`);
        }
      }),
    );

  users
    .command('set-role <user>')
    .addArgument(new Argument('<role>', 'USER or ADMIN').choices(['USER', 'ADMIN']))
    .description('make a user (email or id) USER or ADMIN; applies from their next request')
    .action((who: string, role: 'USER' | 'ADMIN') =>
      withContext(async (ctx) => {
        const user = await ctx.accounts.find(null, who);
        console.log(`updated ${describe(await ctx.accounts.update(null, user.id, { role }))}`);
      }),
    );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(`${name} <user>`)
      .description(
        disabled
          ? 'disable a user (email or id): every request of theirs is refused from the next one'
          : 'enable a disabled user again (their earlier tokens stay invalid)',
      )
      .action((who: string) =>
        withContext(async (ctx) => {
          const user = await ctx.accounts.find(null, who);
          console.log(`updated ${describe(await ctx.accounts.update(null, user.id, { disabled }))}`);
        }),
      );
  }

  users
    .command('set-password <user>')
    .description("set a user's password from standard input; their earlier tokens stop working")
    .requiredOption('--password-stdin', 'read the password from standard input')
    .action(async (who: string) => {
      const password = await readPassword();
      await withContext(async (ctx) => {
        const user = await ctx.accounts.find(null, who);
        console.log(`updated ${describe(await ctx.accounts.setPassword(null, user.id, password))}`);
      });
    });

  users
    .command('remove <user>')
    .description(
      'delete a user (email or id) with their credentials, grants and group memberships (refused while they own servers)',
    )
    .action((who: string) =>
      withContext(async (ctx) => {
        const user = await ctx.accounts.find(null, who);
        const removed = await ctx.accounts.remove(null, user.id);
        console.log(
          `removed ${removed.email} id=${removed.id}: ${removed.credentials} credential(s), ` +
            `${removed.grants} grant(s), ${removed.groupMemberships} group membership(s)`,
        );
      }),
    );
}
