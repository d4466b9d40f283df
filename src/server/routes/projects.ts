// Project info (ironcli calls it before every worker command) and private-registry credentials.
import type { Handler } from '../context.js';
import { badRequest } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { rfc3339 } from '../ids.js';
import { normalizeRegistry } from '../registry.js';
import { optString } from '../validate.js';

export function registerProjectRoutes(r: Router<Handler>): void {
  r.add('GET', '/2/projects/:pid', async (ctx) => {
    const pid = await ctx.project();
    const p = await ctx.deps.services.accounts.project(pid, ctx.signal);
    return { id: p.id, name: p.name, created_at: rfc3339(p.createdAt) };
  });

  // `iron docker login` sends {"auth": base64(JSON{email, username, password, serveraddress})}.
  // Stored for runners (handed out as docker_auth with the task), never shown back.
  r.add('POST', '/2/projects/:pid/credentials', async (ctx) => {
    const pid = await ctx.project();
    const body = await ctx.json();
    let fields: Record<string, unknown> = body;
    const auth = optString(body, 'auth', 16 * 1024);
    if (auth !== undefined) {
      try {
        const decoded: unknown = JSON.parse(Buffer.from(auth, 'base64').toString('utf8'));
        if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw new Error('not an object');
        fields = decoded as Record<string, unknown>;
      } catch {
        throw badRequest('auth must be base64 of a JSON object {email, username, password, serveraddress}');
      }
    }
    const username = optString(fields, 'username', 1024) ?? '';
    const password = optString(fields, 'password', 4096) ?? '';
    if (username === '' || password === '') throw badRequest('username and password are required');
    const email = optString(fields, 'email', 1024) ?? '';
    const serverAddress = normalizeRegistry(optString(fields, 'serveraddress', 1024) ?? '');
    const stored: Record<string, string> = { username, password, serveraddress: serverAddress };
    if (email !== '') stored['email'] = email;
    await ctx.deps.services.accounts.addCredential(pid, { serverAddress, auth: stored }, ctx.signal);
    return { msg: 'Credentials added' };
  });
}
