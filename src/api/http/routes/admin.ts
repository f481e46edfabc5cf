/** Users, API keys and channels. Users and channels are admin business; keys are self-service. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import type { AuthService } from '../../../services/auth.js';
import { hashPassword, mintApiKey } from '../../../services/secrets.js';
import type { Store } from '../../../store/index.js';
import { monthOf } from '../../../store/ids.js';
import type { ChannelRegistry } from '../../../dispatch/registry.js';
import type { UrlGuard } from '../../../delivery/url-guard.js';
import type { ChannelRow } from '../../../store/schema.js';
import { principalOf, requireAdmin } from '../auth.js';
import { channelView, keyView, userView } from '../views.js';
import { ChannelView, KeyView, ListOf, NewKey, UserView } from '../schemas.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Login = Type.String({ minLength: 2, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' });
const Password = Type.String({ minLength: 8, maxLength: 256 });

// Null goes first in every nullable union: with type coercion on, ajv would otherwise turn null
// into "" or 0 while trying the first branch (a "no limit" became a limit of 0).
const ChannelFields = {
  owner_id: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 64 })])),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  monthly_limit: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 0 })])),
  count_mode: Type.Optional(Type.Union([Type.Literal('segments'), Type.Literal('messages')])),
  min_interval_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
  max_in_flight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  enabled: Type.Optional(Type.Boolean()),
};
const ChannelCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  type: Type.String({ minLength: 1, maxLength: 32 }),
  ...ChannelFields,
});
const ChannelPatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ...ChannelFields,
});

const ChannelCounters = Type.Object({
  channel_id: Type.String(),
  monthly_limit: Type.Union([Type.Integer(), Type.Null()]),
  count_mode: Type.String(),
  months: Type.Array(
    Type.Object({ month: Type.String(), count: Type.Integer() }, { additionalProperties: true }),
  ),
});

/** Defaults per channel type: a modem sends one at a time every 10 s (the seed measured it). */
export function channelDefaults(type: string): { min_interval_ms: number; max_in_flight: number } {
  if (type === 'modem' || type === 'gammu') return { min_interval_ms: 10_000, max_in_flight: 1 };
  if (type === 'smpp') return { min_interval_ms: 0, max_in_flight: 100 };
  return { min_interval_ms: 0, max_in_flight: 200 };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || /UNIQUE constraint failed/.test(e.message ?? '');
}

export function adminRoutes(
  untyped: FastifyInstance,
  deps: { store: Store; auth: AuthService; registry: ChannelRegistry; urlGuard?: UrlGuard | undefined },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store, auth, registry } = deps;

  // ---- users
  app.post(
    '/v1/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a user',
        body: Type.Object({
          login: Login,
          password: Password,
          role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])),
        }),
        response: { 201: UserView },
      },
    },
    async (req, reply) => {
      requireAdmin(req);
      const b = req.body;
      if (await store.users.byLogin(b.login))
        throw new ApiError('already_exists', say('api.admin.loginTaken', { login: b.login }), 'login');
      try {
        const u = await store.users.create({
          login: b.login,
          passwordHash: await hashPassword(b.password),
          role: b.role ?? 'user',
        });
        return reply.status(201).send(userView(u));
      } catch (err) {
        if (isUniqueViolation(err))
          throw new ApiError('already_exists', say('api.admin.loginTaken', { login: b.login }), 'login');
        throw err;
      }
    },
  );
  app.get(
    '/v1/users',
    { schema: { tags: ['admin'], summary: 'List users', response: { 200: ListOf(UserView) } } },
    async (req) => {
      requireAdmin(req);
      return { data: (await store.users.list()).map(userView) };
    },
  );
  app.get(
    '/v1/me',
    { schema: { tags: ['admin'], summary: 'The calling user', response: { 200: UserView } } },
    async (req) => userView(principalOf(req).user),
  );
  app.patch(
    '/v1/users/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Block/unblock, change role or password',
        params: IdParams,
        body: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked')])),
          role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])),
          password: Type.Optional(Password),
          smpp_system_id: Type.Optional(
            Type.Union([
              Type.Null(),
              Type.String({ minLength: 1, maxLength: 15, pattern: '^[\\x21-\\x7e]+$' }),
            ]),
          ),
          smpp_password: Type.Optional(
            Type.String({ minLength: 1, maxLength: 8, pattern: '^[\\x21-\\x7e]+$' }),
          ),
        }),
        response: { 200: UserView },
      },
    },
    async (req) => {
      const p = requireAdmin(req);
      const { id } = req.params;
      const b = req.body;
      if (b.smpp_system_id) {
        const taken = await store.users.bySmppSystemId(b.smpp_system_id);
        if (taken && taken.id !== id)
          throw new ApiError('already_exists', say('api.admin.systemIdTaken'), 'smpp_system_id');
      }
      if (b.smpp_system_id && !b.smpp_password) {
        throw new ApiError('validation_failed', say('api.admin.smppPasswordWith'), 'smpp_password');
      }
      if (id === p.user.id && (b.status === 'blocked' || b.role === 'user')) {
        throw new ApiError('conflict', say('api.admin.notYourself'));
      }
      if (!(await store.users.byId(id))) throw new ApiError('not_found', say('api.admin.noSuchUser'), 'id');
      const u = await store.users.update(id, {
        ...(b.status ? { status: b.status } : {}),
        ...(b.role ? { role: b.role } : {}),
        ...(b.password ? { password_hash: await hashPassword(b.password) } : {}),
        ...(b.smpp_system_id !== undefined ? { smpp_system_id: b.smpp_system_id } : {}),
        ...(b.smpp_system_id === null ? { smpp_password_hash: null } : {}),
        ...(b.smpp_password ? { smpp_password_hash: await hashPassword(b.smpp_password) } : {}),
      });
      auth.forget();
      return userView(u as NonNullable<typeof u>);
    },
  );

  // ---- API keys: a user manages its own; an admin anyone's.
  app.post(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key (the secret is shown once)',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 64 }),
          user_id: Type.Optional(Type.String({ maxLength: 64 })),
          callback_url: Type.Optional(
            Type.String({
              format: 'uri',
              maxLength: 2048,
              pattern: '^https?://',
              description: 'Default status webhook',
            }),
          ),
        }),
        response: { 201: NewKey },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      if (b.callback_url && deps.urlGuard) await deps.urlGuard.check(b.callback_url, 'callback_url');
      const userId = b.user_id ?? p.user.id;
      if (userId !== p.user.id) {
        requireAdmin(req);
        if (!(await store.users.byId(userId)))
          throw new ApiError('not_found', say('api.admin.noSuchUser'), 'user_id');
      }
      const minted = mintApiKey();
      const row = await store.keys.create({
        userId,
        name: b.name,
        prefix: minted.prefix,
        secretHash: minted.secretHash,
        callbackUrl: b.callback_url,
      });
      return reply.status(201).send({ ...keyView(row), key: minted.key });
    },
  );
  app.get(
    '/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List API keys (never their secrets)',
        response: { 200: ListOf(KeyView) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await store.keys.list(p.user.role === 'admin' ? undefined : p.user.id);
      return { data: rows.map(keyView) };
    },
  );
  app.delete(
    '/v1/keys/:id',
    {
      schema: { tags: ['keys'], summary: 'Revoke an API key', params: IdParams, response: { 200: KeyView } },
    },
    async (req) => {
      const p = principalOf(req);
      const { id } = req.params;
      const k = await store.keys.byId(id);
      if (!k || (k.user_id !== p.user.id && p.user.role !== 'admin'))
        throw new ApiError('not_found', say('api.admin.noSuchKey'), 'id');
      await store.keys.revoke(id);
      auth.forget();
      return keyView((await store.keys.byId(id)) ?? k);
    },
  );

  // ---- channels
  const view = (c: ChannelRow, withConfig: boolean) => {
    const running = registry.get(c.id);
    const used = running?.usedThisMonth;
    return {
      ...channelView(c, { used_this_month: used ?? 0, health: running?.driver.health() }, withConfig),
      // Where it runs now (issue 17): the node holding its lease; null when none does.
      node: registry.nodeOf(c.id),
    };
  };
  const withUsage = async (c: ChannelRow, withConfig: boolean) => {
    const v = view(c, withConfig);
    if (!registry.get(c.id)) v.used_this_month = await store.channels.counter(c.id, monthOf(Date.now()));
    return v;
  };
  const checkOwner = async (ownerId: string | null | undefined) => {
    if (ownerId && !(await store.users.byId(ownerId)))
      throw new ApiError('not_found', say('api.admin.noSuchUser'), 'owner_id');
  };
  const checkConfig = (type: string, config: Record<string, unknown>, name: string) => {
    try {
      registry.validate(type, config, name);
    } catch (err) {
      throw new ApiError(
        'validation_failed',
        say('api.admin.configRejected', { detail: (err as Error).message }),
        'config',
      );
    }
  };

  app.post(
    '/v1/channels',
    {
      schema: {
        tags: ['channels'],
        summary: 'Add a channel',
        body: ChannelCreate,
        response: { 201: ChannelView },
      },
    },
    async (req, reply) => {
      requireAdmin(req);
      const b = req.body;
      const config = b.config ?? {};
      checkConfig(b.type, config, b.name);
      await checkOwner(b.owner_id);
      if (await store.channels.byName(b.name))
        throw new ApiError('already_exists', say('api.admin.channelExists', { name: b.name }), 'name');
      const d = channelDefaults(b.type);
      const row = await store.channels.create({
        name: b.name,
        type: b.type,
        owner_id: b.owner_id ?? null,
        config: JSON.stringify(config),
        monthly_limit: b.monthly_limit ?? null,
        count_mode: b.count_mode ?? 'segments',
        min_interval_ms: b.min_interval_ms ?? d.min_interval_ms,
        max_in_flight: b.max_in_flight ?? d.max_in_flight,
        priority: b.priority ?? 100,
        enabled: b.enabled === false ? 0 : 1,
      });
      await registry.sync();
      return reply.status(201).send(await withUsage(row, true));
    },
  );

  app.get(
    '/v1/channels',
    {
      schema: {
        tags: ['channels'],
        summary: 'Channels (users see theirs and shared ones)',
        response: { 200: ListOf(ChannelView) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const admin = p.user.role === 'admin';
      const rows = (await store.channels.list()).filter(
        (c) => admin || c.owner_id === null || c.owner_id === p.user.id,
      );
      return { data: await Promise.all(rows.map((c) => withUsage(c, admin))) };
    },
  );

  const mustGet = async (id: string) => {
    const c = await store.channels.byId(id);
    if (!c) throw new ApiError('not_found', say('api.admin.noSuchChannel'), 'id');
    return c;
  };

  app.get(
    '/v1/channels/:id',
    {
      schema: { tags: ['channels'], summary: 'A channel', params: IdParams, response: { 200: ChannelView } },
    },
    async (req) => {
      const p = principalOf(req);
      const c = await mustGet(req.params.id);
      if (p.user.role !== 'admin' && c.owner_id !== null && c.owner_id !== p.user.id)
        throw new ApiError('not_found', say('api.admin.noSuchChannel'), 'id');
      return withUsage(c, p.user.role === 'admin');
    },
  );

  app.patch(
    '/v1/channels/:id',
    {
      schema: {
        tags: ['channels'],
        summary: 'Update a channel',
        params: IdParams,
        body: ChannelPatch,
        response: { 200: ChannelView },
      },
    },
    async (req) => {
      requireAdmin(req);
      const c = await mustGet(req.params.id);
      const b = req.body;
      if (b.config) checkConfig(c.type, b.config, b.name ?? c.name);
      await checkOwner(b.owner_id);
      if (b.name && b.name !== c.name && (await store.channels.byName(b.name))) {
        throw new ApiError('already_exists', say('api.admin.channelExists', { name: b.name }), 'name');
      }
      const row = await store.channels.update(c.id, {
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.owner_id !== undefined ? { owner_id: b.owner_id } : {}),
        ...(b.config !== undefined ? { config: JSON.stringify(b.config) } : {}),
        ...(b.monthly_limit !== undefined ? { monthly_limit: b.monthly_limit } : {}),
        ...(b.count_mode !== undefined ? { count_mode: b.count_mode } : {}),
        ...(b.min_interval_ms !== undefined ? { min_interval_ms: b.min_interval_ms } : {}),
        ...(b.max_in_flight !== undefined ? { max_in_flight: b.max_in_flight } : {}),
        ...(b.priority !== undefined ? { priority: b.priority } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled ? 1 : 0 } : {}),
      });
      await registry.sync();
      return withUsage(row as ChannelRow, true);
    },
  );

  for (const [action, enabled] of [
    ['enable', 1],
    ['disable', 0],
  ] as const) {
    app.post(
      `/v1/channels/:id/${action}`,
      {
        schema: {
          tags: ['channels'],
          summary: `${action} a channel`,
          params: IdParams,
          response: { 200: ChannelView },
        },
      },
      async (req) => {
        requireAdmin(req);
        const c = await mustGet(req.params.id);
        const row = await store.channels.update(c.id, { enabled });
        await registry.sync();
        return withUsage(row as ChannelRow, true);
      },
    );
  }

  app.get(
    '/v1/channels/:id/counters',
    {
      schema: {
        tags: ['channels'],
        summary: 'Monthly counters',
        params: IdParams,
        response: { 200: ChannelCounters },
      },
    },
    async (req) => {
      requireAdmin(req);
      const c = await mustGet(req.params.id);
      return {
        channel_id: c.id,
        monthly_limit: c.monthly_limit,
        count_mode: c.count_mode,
        months: await store.channels.history(c.id),
      };
    },
  );

  app.post(
    '/v1/channels/:id/counters/reset',
    {
      schema: {
        tags: ['channels'],
        summary: "Reset a month's counter (default: this month)",
        params: IdParams,
        body: Type.Optional(
          Type.Object({ month: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}$' })) }),
        ),
        response: {
          200: Type.Object({ channel_id: Type.String(), month: Type.String(), count: Type.Integer() }),
        },
      },
    },
    async (req) => {
      requireAdmin(req);
      const c = await mustGet(req.params.id);
      const month = req.body?.month ?? monthOf(Date.now());
      await store.channels.resetCounter(c.id, month);
      const running = registry.get(c.id);
      if (running && running.month === month) running.usedThisMonth = 0;
      return { channel_id: c.id, month, count: 0 };
    },
  );
}
