/**
 * Every self-metric of the collector (prefix netflow_k8s_, `_total` on counters), defined once: its
 * name, type, help and labels. The modules that know a value report it into the registry under one
 * of these names (`report` and `selfCounter` of MetricsRegistry) and say nothing else about the
 * metric, so this list is what /metrics and OTLP carry of the collector itself.
 */

export interface SelfMetricDefinition {
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  /** Label names, in the order a sample's values come. */
  readonly labels?: readonly string[];
}

export const SELF_METRICS = {
  // The receive path, the decoder and the identify stage, from the receiving threads' reports.
  datagrams: { type: 'counter', help: 'UDP datagrams received, by exporter address', labels: ['exporter'] },
  datagram_bytes: { type: 'counter', help: 'UDP payload bytes received, by exporter address', labels: ['exporter'] },
  datagrams_denied: { type: 'counter', help: 'Datagrams dropped because the exporter is not in --allow-exporters', labels: ['exporter'] },
  records: { type: 'counter', help: 'Flow records decoded, by NetFlow version', labels: ['version'] },
  options_records: { type: 'counter', help: 'Options data records (sampling, interface names) kept as state' },
  decode_errors: { type: 'counter', help: 'Malformed input refused by the decoder, by reason', labels: ['reason'] },
  template_misses: { type: 'counter', help: 'Data sets that arrived before their template' },
  templates: { type: 'gauge', help: 'Templates and options templates alive' },
  held_sets: { type: 'counter', help: 'Data sets held for a template, by what became of them', labels: ['outcome'] },
  held_sets_pending: { type: 'gauge', help: 'Data sets waiting for their template now' },
  data_sets_refused: { type: 'counter', help: 'Data sets that gave no record (their reason is in netflow_k8s_decode_errors_total)' },
  template_scope_fallbacks: {
    type: 'counter',
    help: 'Data sets decoded with the template another source port of the same exporter address sent (--template-scope address)',
  },
  decoder_limit_hits: {
    type: 'counter',
    help: 'Times a cap on decoder state or work refused or evicted something, by cap',
    labels: ['limit'],
  },
  decoder_exporters: { type: 'gauge', help: 'Exporters (address and port) the receiving threads keep decoder state for' },
  flow_records: { type: 'counter', help: 'Flow records seen by the identify stage' },
  unknown_ends: { type: 'counter', help: 'Flow record ends that no pod, node, service or network names', labels: ['end'] },
  address_memo_hits: {
    type: 'counter',
    help: 'Flow records whose two addresses the receiving thread remembered, so the identity index was not asked',
  },
  dedup_skipped: { type: 'counter', help: 'Flow records not counted because the source node reports the same flow' },

  // The pair store.
  pairs: { type: 'gauge', help: 'Pairs in the store' },
  pairs_max: { type: 'gauge', help: 'The --max-series cap' },
  pair_evictions: { type: 'counter', help: 'Pairs removed after --series-ttl without flows' },
  overflow_flows: { type: 'counter', help: 'Flows counted into the overflow pair because the store was full' },

  // The inventory, as the main thread holds it.
  inventory_ready: { type: 'gauge', help: 'Inventory synced (1) or not (0)' },
  inventory_objects: { type: 'gauge', help: 'Inventory objects known, by kind', labels: ['kind'] },

  // The receiving threads and their sockets.
  receive_threads: { type: 'gauge', help: 'Receiving threads' },
  receive_thread_restarts: { type: 'counter', help: 'Receiving threads restarted after they died' },
  receive_thread_datagrams: {
    type: 'counter',
    help: 'Datagrams received by each receiving thread (restarted threads keep their number)',
    labels: ['thread'],
  },
  receive_thread_batches: {
    type: 'counter',
    help: 'Batches of datagrams each receiving thread read from its socket, one system call and one call into JavaScript each (native backend); datagrams over batches is their size',
    labels: ['thread'],
  },
  receive_thread_utilization: {
    type: 'gauge',
    help: 'Event-loop utilization of each receiving thread over its last merge interval',
    labels: ['thread'],
  },
  receive_thread_longest_task_seconds: {
    type: 'gauge',
    help: 'Longest task (a batch of datagrams, a shipment, a message) of each receiving thread over the last 15 to 30 s',
    labels: ['thread'],
  },
  receive_thread_long_tasks: {
    type: 'counter',
    help: 'Tasks of each receiving thread that ran 50 ms or longer, while its socket was not read',
    labels: ['thread'],
  },
  udp_receive_buffer_bytes: { type: 'gauge', help: 'Receive buffer the kernel granted each socket' },
  udp_socket_drops: { type: 'counter', help: 'Datagrams the kernel dropped on our sockets (receive buffer full), from /proc/net/udp' },
  udp_socket_queue_bytes: { type: 'gauge', help: 'Bytes waiting in our sockets receive queues' },
  udp_host_receive_errors: { type: 'counter', help: 'Host-wide UDP receive errors from /proc/net/snmp, by counter', labels: ['counter'] },

  // Memory, thread by thread.
  thread_memory_bytes: {
    type: 'gauge',
    help: 'V8 heap (used, total) and memory outside it (external: buffers) of each thread, main and receiving',
    labels: ['thread', 'kind'],
  },
  decoder_state_bytes: {
    type: 'gauge',
    help: 'Decoder state (templates, options state, held data) of each receiving thread, in bytes as the decoder weighs it',
    labels: ['thread'],
  },

  // The receive path each thread took (registerUdpBackendMetrics).
  udp_backend: {
    type: 'gauge',
    help: "The UDP receive path of each receiving thread (native: batched recvmmsg; dgram: Node's); always 1",
    labels: ['thread', 'backend'],
  },
  udp_spread: {
    type: 'gauge',
    help:
      "How datagrams reach each receiving thread (exporter: the kernel's " +
      'per-exporter hash; datagram: dealt at random, templates shared); always 1',
    labels: ['thread', 'spread'],
  },
  udp_truncated_datagrams: { type: 'counter', help: 'Datagrams longer than the native receive slot, counted and dropped undecoded' },

  // A bare store's own numbers (registerStoreMetrics: the export tests and benches).
  store_pairs: { type: 'gauge', help: 'Pairs in the store (series per counter family)' },
  store_ends: { type: 'gauge', help: 'Distinct endpoint identities the store keys pairs by' },
  store_max_pairs: { type: 'gauge', help: 'The cardinality cap (--max-series)' },
  store_evictions: { type: 'counter', help: 'Pairs removed after being idle for the series TTL' },
  store_overflow_flows: { type: 'counter', help: 'Flows counted in the overflow pair because the cap was reached' },

  // The process (observe/metrics.ts registerProcessMetrics).
  process_cpu_seconds: { type: 'counter', help: 'User and system CPU time of the process in seconds' },
  process_resident_memory_bytes: { type: 'gauge', help: 'Resident set size in bytes' },
  process_heap_bytes: { type: 'gauge', help: 'V8 heap in bytes, used and total', labels: ['kind'] },
  event_loop_lag_seconds: { type: 'gauge', help: 'Event-loop delay over the last window, by statistic', labels: ['stat'] },

  // The inventory source (pipeline/inventory.ts): live watches, or a static file.
  informer_ready: { type: 'gauge', help: 'Informer has applied its first full list (1) or not (0), by kind', labels: ['kind'] },
  informer_restarts: { type: 'counter', help: 'Informer restarts after errors, by kind', labels: ['kind'] },
  informer_errors: { type: 'counter', help: 'Informer errors (failed lists, broken watches), by kind', labels: ['kind'] },
  informer_lists: { type: 'counter', help: 'Full lists done, by kind', labels: ['kind'] },
  informer_events: { type: 'counter', help: 'Watch events received, by kind', labels: ['kind'] },
  informer_last_event_age_seconds: { type: 'gauge', help: 'Seconds since the last watch event or list, by kind', labels: ['kind'] },
  inventory_loads: { type: 'counter', help: 'Static inventory loads, by result', labels: ['result'] },

  // The collector (pipeline/collector.ts): other sockets on our port, HTTP limits, readiness.
  udp_port_strangers: { type: 'gauge', help: 'Sockets of other processes on our UDP port now (they take a share of its datagrams)' },
  udp_port_stranger_joins: { type: 'counter', help: 'Times a socket of another process was found joining our UDP port' },
  http_connections_refused: { type: 'counter', help: 'HTTP connections closed by the server limits, by reason', labels: ['reason'] },
  inventory_threads_behind: { type: 'gauge', help: 'Receiving threads that have not yet applied every inventory change sent to them' },

  // The HTTP server's guard (observe/web-server.ts).
  http_unauthorized: {
    type: 'counter',
    help: 'HTTP requests refused with 401 by basic auth (--web-config-file), by reason',
    labels: ['reason'],
  },
  http_tls_refused: {
    type: 'counter',
    help: 'Connections refused at or right after the TLS handshake (plain HTTP, a client certificate missing or not trusted)',
  },

  // The dnstap input (dns/dnstap-service.ts).
  dnstap_connections: { type: 'gauge', help: 'dnstap connections from DNS servers open now' },
  dnstap_connections_accepted: { type: 'counter', help: 'dnstap connections accepted' },
  dnstap_connections_dropped: { type: 'counter', help: 'dnstap connections dropped, by reason', labels: ['reason'] },
  dnstap_frames: { type: 'counter', help: 'Frame Streams data frames received' },
  dnstap_bytes: { type: 'counter', help: 'dnstap bytes received' },
  dnstap_messages: { type: 'counter', help: 'dnstap messages, by type', labels: ['type'] },
  dnstap_decode_errors: { type: 'counter', help: 'dnstap frames not decoded, by stage (protobuf, dns)', labels: ['stage'] },
  dns_answers_learned: { type: 'counter', help: 'Address-to-name answers learnt from DNS responses' },
  dns_addresses: { type: 'gauge', help: 'Addresses named by DNS now' },
  dns_names: { type: 'gauge', help: 'Distinct names (after --dns-name-suffixes) held now' },
  dns_addresses_max: { type: 'gauge', help: 'The --dnstap-max-names cap' },
  dns_evictions: { type: 'counter', help: 'Addresses dropped to stay under --dnstap-max-names' },
  dns_expired: { type: 'counter', help: 'Addresses dropped because their answers ran out long ago' },
  dns_thread_answers_learned: {
    type: 'counter',
    help: 'DNS answers each receiving thread has applied (the main thread relays them; behind dns_answers_learned while in flight)',
    labels: ['thread'],
  },
  dns_named_flows: { type: 'counter', help: 'Flows counted with an end named by DNS (none at --level namespace)' },

  // Conversations kept for /api/policies (policy/collector.ts).
  conversations: {
    type: 'gauge',
    help: 'Conversations (client, server, server port, protocol) kept for /api/policies, undecided ones included',
  },
  conversation_dropped_flows: {
    type: 'counter',
    help: "Flows whose conversation was not kept (a thread's rows or --max-conversations full)",
  },

  // OTLP exports: export/otel/otlp.ts still registers these two with their help, until it takes them from here.
  otlp_exports: { type: 'counter', help: 'OTLP export requests by result', labels: ['result'] },
  otlp_exported_points: { type: 'counter', help: 'Data points in successful OTLP export requests' },
} as const satisfies Record<string, SelfMetricDefinition>;

export type SelfMetricName = keyof typeof SELF_METRICS;
/** The self-metrics that are counters, for instruments counted as things happen. */
export type SelfCounterName = { [K in SelfMetricName]: (typeof SELF_METRICS)[K]['type'] extends 'counter' ? K : never }[SelfMetricName];
