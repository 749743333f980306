/**
 * The collector's policy API:
 *   GET  /api/policies?namespace=NS[&namespace=NS2][&since=10m][&egress=true]
 *        suggested NetworkPolicies, application/yaml (a List), or with `Accept: application/json`
 *        one commented document per policy (what `policy suggest --out DIR` writes);
 *   POST /api/policies/check[?since=10m]  NetworkPolicy YAML in, the denied conversations out (JSON);
 *   GET  /api/policies/denied  the last check's denied conversations, for the map page;
 *   GET  /api/policies/conversations[?since=10m]  what was observed (JSON).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HttpServer, sendJson, sendText } from '../observe/http.ts';
import { parseDuration } from '../config/options.ts';
import type { ConversationStore } from './conversations.ts';
import type { PolicyInventory } from './inventory.ts';
import { suggestPolicies } from './suggest.ts';
import { renderFiles, renderList } from './policy-render.ts';
import { parsePolicies, PolicyInputError } from './policy-yaml.ts';
import { checkPolicies, type CheckResult } from './check.ts';
import { endLabel, portLabel } from './suggest.ts';

export interface PolicyApiOptions {
  conversations: ConversationStore;
  inventory: PolicyInventory;
  labelPrecedence: readonly string[];
  /** Brings the receiving threads' latest counts in before answering. */
  flush?: () => Promise<void>;
  /** False until the inventory is synced: a suggestion made before would find no pods. */
  ready?: () => boolean;
  /** Why the collector keeps no conversations (e.g. --level namespace), when it keeps none. */
  disabled?: string;
}

/** Policy YAML bodies larger than this are refused (a cluster's policies are far smaller). */
const MAX_BODY = 4 << 20;

function sinceOf(url: URL, res: ServerResponse): number | undefined | null {
  const s = url.searchParams.get('since');
  if (s === null || s === '') return undefined;
  const ms = parseDuration(s);
  if (ms === undefined || ms <= 0) {
    sendJson(res, 400, { error: `since: expected a duration such as 30m or 24h, got ${JSON.stringify(s)}` });
    return null;
  }
  return Date.now() - ms;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function mountPolicyRoutes(server: HttpServer, o: PolicyApiOptions): void {
  let lastCheck: (CheckResult & { at: string }) | undefined;
  /** True when the request was answered with why it cannot be served yet. */
  const refused = (res: ServerResponse): boolean => {
    if (o.disabled) sendJson(res, 409, { error: o.disabled });
    else if (o.ready && !o.ready()) sendJson(res, 503, { error: 'the inventory is not synced yet; try again shortly' });
    else return false;
    return true;
  };

  server.route('GET', '/api/policies', async (req, res, url) => {
    if (refused(res)) return;
    const sinceMs = sinceOf(url, res);
    if (sinceMs === null) return;
    await o.flush?.();
    const namespaces = url.searchParams
      .getAll('namespace')
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    const s = suggestPolicies(o.conversations.list(), o.inventory, {
      namespaces,
      sinceMs,
      egress: url.searchParams.get('egress') === 'true',
      labelPrecedence: o.labelPrecedence,
    });
    const dropped = o.conversations.stats().droppedFlows;
    if (dropped > 0)
      s.notes.push(
        `${dropped} flows were not kept as conversations (--max-conversations reached): ` +
          'some clients may be missing, so check before applying',
      );
    if ((req.headers.accept ?? '').includes('application/json')) {
      sendJson(res, 200, { notes: s.notes, namespaces: s.namespaces, files: renderFiles(s) });
      return;
    }
    sendText(res, 200, 'application/yaml; charset=utf-8', renderList(s, url.searchParams.get('since') ?? undefined), req.method === 'HEAD');
  });

  server.route('POST', '/api/policies/check', async (req, res, url) => {
    if (refused(res)) return;
    const sinceMs = sinceOf(url, res);
    if (sinceMs === null) return;
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, 413, { error: `body larger than ${MAX_BODY} bytes` });
    let policies: ReturnType<typeof parsePolicies>;
    try {
      policies = parsePolicies(body, 'body');
    } catch (err) {
      if (err instanceof PolicyInputError)
        return sendJson(res, 400, { error: 'not valid NetworkPolicies; nothing was evaluated', problems: err.problems });
      throw err;
    }
    await o.flush?.();
    const r = checkPolicies(policies, o.conversations.list(), o.inventory, { sinceMs });
    lastCheck = { ...r, at: new Date().toISOString() };
    sendJson(res, 200, r);
  });

  server.route('GET', '/api/policies/denied', (req, res) => {
    sendJson(res, 200, lastCheck ?? { denied: [] });
  });

  server.route('GET', '/api/policies/conversations', async (req, res, url) => {
    if (refused(res)) return;
    const sinceMs = sinceOf(url, res);
    if (sinceMs === null) return;
    await o.flush?.();
    const out = o.conversations.list(sinceMs).map((c) => ({
      client: endLabel(o.inventory.resolve(c.client)),
      server: endLabel(o.inventory.resolve(c.server)),
      ...(c.undecided ? { undecided: true, protocol: portLabel(c.proto, 0).split('/')[0] } : { port: portLabel(c.proto, c.port) }),
      flows: c.flows,
      bytes: c.bytes,
      firstSeen: new Date(c.firstMs).toISOString(),
      lastSeen: new Date(c.lastMs).toISOString(),
    }));
    sendJson(res, 200, { stats: o.conversations.stats(), conversations: out });
  });
}
