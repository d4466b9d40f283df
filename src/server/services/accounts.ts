// Projects, tokens and registry credentials as the API uses them: who a token is, what a project is.
import { authenticate } from '../auth.js';
import { notFound } from '../http/errors.js';
import type { Credential, Project, TokenScope } from '../store/records.js';
import type { ServicesCore } from './core.js';

export class Accounts {
  constructor(private readonly core: ServicesCore) {}

  /** The scope of a token (401 when it is missing or unknown). */
  authenticate(token: string | undefined, signal: AbortSignal): Promise<TokenScope> {
    return authenticate(this.core.store.accounts, token, signal, this.core.tokens);
  }

  async project(projectId: string, signal: AbortSignal): Promise<Project> {
    const p = await this.core.store.accounts.getProject(projectId, signal);
    if (p === undefined) throw notFound('Project not found');
    return p;
  }

  /** Stored for runners (handed out as docker_auth with the task), never shown back. */
  async addCredential(projectId: string, cred: Credential, signal: AbortSignal): Promise<void> {
    await this.core.store.accounts.putCredential(projectId, cred, Date.now(), signal);
  }

  /** A trivial store read: the database answers, not just the socket. */
  async health(signal: AbortSignal): Promise<void> {
    await this.core.store.accounts.isEmpty(signal);
  }
}
