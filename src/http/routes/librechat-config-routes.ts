import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Identity, IdentityService } from '../../auth/index.js';
import { needsOAuth, userVarFields, type ServerRegistry } from '../../registry/index.js';
import { HubError } from '../../errors/index.js';
import { bearerToken } from '../authenticate.js';

/** What `GET /api/config` reads. */
export interface LibreChatConfigRouteOptions {
  identity: IdentityService;
  registry: ServerRegistry;
  /** PUBLIC_URL: LibreChat's client knows it as `serverDomain`. */
  publicUrl: string;
}

const mcpServerEntry = z.object({
  customUserVars: z.record(z.string(), z.object({ title: z.string(), description: z.string() })),
  chatMenu: z.boolean().optional(),
  isOAuth: z.boolean(),
  startup: z.boolean().optional(),
  iconPath: z.string().optional(),
});

/** An allowlist: the fields LibreChat's startup config requires, and the MCP part. */
const startupConfig = z.object({
  appTitle: z.string(),
  socialLogins: z.array(z.string()),
  discordLoginEnabled: z.boolean(),
  facebookLoginEnabled: z.boolean(),
  githubLoginEnabled: z.boolean(),
  googleLoginEnabled: z.boolean(),
  openidLoginEnabled: z.boolean(),
  appleLoginEnabled: z.boolean(),
  samlLoginEnabled: z.boolean(),
  openidLabel: z.string(),
  openidImageUrl: z.string(),
  openidAutoRedirect: z.boolean(),
  samlLabel: z.string(),
  samlImageUrl: z.string(),
  serverDomain: z.string(),
  emailLoginEnabled: z.boolean(),
  registrationEnabled: z.boolean(),
  socialLoginEnabled: z.boolean(),
  passwordResetEnabled: z.boolean(),
  emailEnabled: z.boolean(),
  showBirthdayIcon: z.boolean(),
  helpAndFaqURL: z.string(),
  sharedLinksEnabled: z.boolean(),
  publicSharedLinksEnabled: z.boolean(),
  allowAccountDeletion: z.boolean(),
  interface: z
    .object({
      mcpServers: z.object({
        use: z.boolean(),
        create: z.boolean(),
        share: z.boolean(),
        public: z.boolean(),
        configureObo: z.boolean(),
      }),
    })
    .optional(),
  mcpServers: z.record(z.string(), mcpServerEntry).optional(),
});

type StartupConfig = z.output<typeof startupConfig>;

/**
 * The fields every caller gets. The hub has one login (email and password, or a token from the app
 * that shares its secret) and none of LibreChat's chat features, so every switch is off.
 */
function baseConfig(publicUrl: string): StartupConfig {
  return {
    appTitle: 'Switchboard',
    socialLogins: [],
    discordLoginEnabled: false,
    facebookLoginEnabled: false,
    githubLoginEnabled: false,
    googleLoginEnabled: false,
    openidLoginEnabled: false,
    appleLoginEnabled: false,
    samlLoginEnabled: false,
    openidLabel: '',
    openidImageUrl: '',
    openidAutoRedirect: false,
    samlLabel: '',
    samlImageUrl: '',
    serverDomain: publicUrl,
    emailLoginEnabled: true,
    registrationEnabled: false,
    socialLoginEnabled: false,
    passwordResetEnabled: false,
    emailEnabled: false,
    showBirthdayIcon: false,
    helpAndFaqURL: '',
    sharedLinksEnabled: false,
    publicSharedLinksEnabled: false,
    allowAccountDeletion: false,
  };
}

/**
 * The MCP part for a signed-in caller: their role's permissions and the servers they may see, each
 * with what LibreChat's client needs to ask for variables; never a URL, header, command or value.
 */
async function mcpPart(
  caller: Identity,
  registry: ServerRegistry,
): Promise<Pick<StartupConfig, 'interface' | 'mcpServers'>> {
  const { USE, CREATE, SHARE, SHARE_PUBLIC } = caller.permissions;
  const servers = await registry.list(caller);
  return {
    interface: {
      mcpServers: { use: USE, create: CREATE, share: SHARE, public: SHARE_PUBLIC, configureObo: false },
    },
    mcpServers: Object.fromEntries(
      servers.map((server) => {
        const { chatMenu, startup, iconPath } = server.config;
        return [
          server.name,
          {
            customUserVars: Object.fromEntries(
              userVarFields(server.config).map((f) => [
                f.authField,
                { title: f.label, description: f.description },
              ]),
            ),
            isOAuth: needsOAuth(server.config),
            ...(chatMenu === undefined ? {} : { chatMenu }),
            ...(startup === undefined ? {} : { startup }),
            ...(iconPath === undefined ? {} : { iconPath }),
          },
        ];
      }),
    ),
  };
}

/**
 * `GET /api/config`: LibreChat's startup config. Anyone may read it, as in LibreChat; only a caller
 * with a valid bearer token gets the MCP part, so no server name reaches an anonymous caller. A token
 * that is sent but invalid is a 401, not a silent downgrade to anonymous.
 */
export const libreChatConfigRoutes: FastifyPluginAsyncZod<LibreChatConfigRouteOptions> = async (
  app,
  options,
) => {
  app.get(
    '/api/config',
    { schema: { tags: ['config'], response: { 200: startupConfig } } },
    async (request) => {
      const base = baseConfig(options.publicUrl);
      if (request.headers.authorization === undefined) return base;
      const token = bearerToken(request.headers.authorization);
      if (token === null) throw new HubError('HUB_ERR_INVALID_TOKEN');
      const caller = await options.identity.authenticate(token);
      return { ...base, ...(await mcpPart(caller, options.registry)) };
    },
  );
};
