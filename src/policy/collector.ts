/**
 * The policy parts of `run`: the conversation store fed by the receiving threads' batches, the
 * main thread's view of the inventory, and the /api/policies routes.
 */
import type { RunConfig } from '../config/run-options.ts';
import type { InventoryListener } from '../identify/inventory.ts';
import type { HttpServer } from '../observe/http.ts';
import type { WorkerPool } from '../pipeline/threads/pool.ts';
import { ConversationStore } from './conversations.ts';
import { networkCidrs, PolicyInventory, teeInventory } from './inventory.ts';
import { mountPolicyRoutes } from './routes.ts';
import type { MetricsRegistry } from '../observe/metrics.ts';

export interface PolicyParts {
  readonly conversations: ConversationStore;
  readonly inventory: PolicyInventory;
  /** The inventory listener to start the source with: the pool's, and this module's. */
  listener(pool: InventoryListener): InventoryListener;
  /** `ready`: the inventory is synced (before that, ends have no pods and suggestions would be empty). */
  mount(server: HttpServer, flush: () => Promise<void>, ready: () => boolean): void;
  expire(nowMs: number): void;
  registerMetrics(reg: MetricsRegistry): void;
}

export function policyParts(config: RunConfig, pool: WorkerPool): PolicyParts {
  const conversations = new ConversationStore({ max: config.maxConversations, ttlMs: config.seriesTtlMs });
  // --networks was checked before (checkIdentityConfig); the names' CIDRs become ipBlocks.
  const inventory = new PolicyInventory(config.level, networkCidrs(config.networks));
  const disabled =
    config.level === 'namespace'
      ? 'conversations are not kept at --level namespace (a policy needs workloads): run with --level app, workload or pod'
      : config.maxConversations === 0
        ? 'conversations are not kept (--max-conversations 0)'
        : undefined;
  if (!disabled) pool.onConversations = (b, ends) => conversations.merge(b, ends);
  return {
    conversations,
    inventory,
    listener: (p) => teeInventory(p, inventory),
    mount: (server, flush, ready) =>
      mountPolicyRoutes(server, { conversations, inventory, labelPrecedence: config.labelPrecedence, flush, ready, disabled }),
    expire: (now) => {
      conversations.expire(now);
    },
    registerMetrics(reg) {
      reg.report('conversations', () => conversations.stats().conversations);
      reg.report('conversation_dropped_flows', () => conversations.stats().droppedFlows);
    },
  };
}
