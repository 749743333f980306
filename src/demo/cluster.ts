/**
 * The demo's sample cluster: three nodes, four namespaces, thirteen apps run as Deployments,
 * StatefulSets and a DaemonSet, their Services, and one external API named by a CIDR. It is
 * written out as the `kubectl get pods,nodes,services -A -o json` List that `--inventory` reads,
 * so the demo goes through the same inventory path as a real static inventory.
 */

export interface DemoNode {
  readonly name: string;
  readonly ip: string;
  /** First three octets of the node's pod CIDR. */
  readonly podNet: string;
  /** topology.kubernetes.io/zone and /region. */
  readonly zone?: string;
  readonly region?: string;
}

export interface DemoApp {
  readonly namespace: string;
  readonly app: string;
  readonly workload: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  /** Pods (a DaemonSet has one per node whatever this says). */
  readonly replicas: number;
  /** The port the app serves on, if it serves. */
  readonly port?: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly portName?: string;
  /** A Service in front of it: its name and ClusterIP. */
  readonly service?: { readonly name: string; readonly ip: string; readonly port: number };
}

export interface DemoPod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly app: DemoApp;
  readonly node: DemoNode;
  readonly ip: string;
}

export const DEMO_NODES: readonly DemoNode[] = [
  // One node per zone, so the map shows cross-zone traffic (and what it costs) at first sight.
  { name: 'node-a', ip: '10.0.0.11', podNet: '10.244.1', zone: 'eu-west-1a', region: 'eu-west-1' },
  { name: 'node-b', ip: '10.0.0.12', podNet: '10.244.2', zone: 'eu-west-1b', region: 'eu-west-1' },
  { name: 'node-c', ip: '10.0.0.13', podNet: '10.244.3', zone: 'eu-west-1c', region: 'eu-west-1' },
];

export const DEMO_APPS: readonly DemoApp[] = [
  {
    namespace: 'kube-system',
    app: 'coredns',
    workload: 'Deployment',
    replicas: 2,
    port: 53,
    protocol: 'UDP',
    portName: 'dns',
    service: { name: 'kube-dns', ip: '10.96.0.10', port: 53 },
  },
  {
    namespace: 'ingress',
    app: 'ingress-nginx',
    workload: 'Deployment',
    replicas: 2,
    port: 443,
    portName: 'https',
    service: { name: 'ingress-nginx', ip: '10.96.0.80', port: 443 },
  },
  {
    namespace: 'shop',
    app: 'frontend',
    workload: 'Deployment',
    replicas: 3,
    port: 8080,
    portName: 'http',
    service: { name: 'frontend', ip: '10.96.10.1', port: 80 },
  },
  {
    namespace: 'shop',
    app: 'catalog',
    workload: 'Deployment',
    replicas: 2,
    port: 8080,
    portName: 'http',
    service: { name: 'catalog', ip: '10.96.10.2', port: 80 },
  },
  {
    namespace: 'shop',
    app: 'cart',
    workload: 'Deployment',
    replicas: 2,
    port: 8080,
    portName: 'http',
    service: { name: 'cart', ip: '10.96.10.3', port: 80 },
  },
  {
    namespace: 'shop',
    app: 'recommendations',
    workload: 'Deployment',
    replicas: 1,
    port: 8080,
    portName: 'http',
    service: { name: 'recommendations', ip: '10.96.10.4', port: 80 },
  },
  {
    namespace: 'shop',
    app: 'checkout',
    workload: 'Deployment',
    replicas: 1,
    port: 8080,
    portName: 'http',
    service: { name: 'checkout', ip: '10.96.10.5', port: 80 },
  },
  {
    namespace: 'shop',
    app: 'redis',
    workload: 'StatefulSet',
    replicas: 1,
    port: 6379,
    portName: 'redis',
    service: { name: 'redis', ip: '10.96.10.6', port: 6379 },
  },
  {
    namespace: 'payments',
    app: 'payments-api',
    workload: 'Deployment',
    replicas: 2,
    port: 8080,
    portName: 'http',
    service: { name: 'payments-api', ip: '10.96.20.1', port: 80 },
  },
  {
    namespace: 'payments',
    app: 'postgres',
    workload: 'StatefulSet',
    replicas: 1,
    port: 5432,
    portName: 'postgres',
    service: { name: 'postgres', ip: '10.96.20.2', port: 5432 },
  },
  // The same app name in a second namespace: the map keeps them apart.
  {
    namespace: 'payments',
    app: 'redis',
    workload: 'StatefulSet',
    replicas: 1,
    port: 6379,
    portName: 'redis',
    service: { name: 'redis', ip: '10.96.20.3', port: 6379 },
  },
  {
    namespace: 'monitoring',
    app: 'prometheus',
    workload: 'StatefulSet',
    replicas: 1,
    port: 9090,
    portName: 'web',
    service: { name: 'prometheus', ip: '10.96.30.1', port: 9090 },
  },
  { namespace: 'monitoring', app: 'node-exporter', workload: 'DaemonSet', replicas: 3, port: 9100, portName: 'metrics' },
];

/**
 * The external API the payments service calls: named by the DNS answer its pods got (the demo's
 * dnstap stream), which the demo puts above its `--networks` name for the provider's range.
 */
export const DEMO_EXTERNAL = {
  name: 'api.stripe.com',
  network: 'payment-gateway',
  cidr: '203.0.113.0/24',
  ip: '203.0.113.10',
  port: 443,
} as const;
/** The product images bucket the catalog reads: one name per bucket, grouped by --dns-name-suffixes. */
export const DEMO_BUCKET = {
  qname: 'product-images.s3.eu-west-1.amazonaws.com',
  name: 's3.eu-west-1.amazonaws.com',
  ip: '192.0.2.80',
  port: 443,
} as const;
/** What the calling pods resolve, as the demo's dnstap stream answers them. */
export const DEMO_DNS_ANSWERS: readonly { client: string; qname: string; cname?: string; ip: string; ttl: number }[] = [
  { client: 'payments/payments-api', qname: DEMO_EXTERNAL.name, ip: DEMO_EXTERNAL.ip, ttl: 60 },
  { client: 'shop/catalog', qname: DEMO_BUCKET.qname, cname: 's3-r-w.eu-west-1.amazonaws.com', ip: DEMO_BUCKET.ip, ttl: 5 },
];
/** Where the shop's visitors come from: addresses nothing names, so they show as `unknown`. */
export const DEMO_VISITORS_NET = '198.51.100';

/** Stable short hex from a string, for pod-template hashes and UIDs that do not change between runs. */
function hex(s: string, len: number): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x12345678;
  for (let i = 0; i < s.length; i++) {
    h1 = Math.imul(h1 ^ s.charCodeAt(i), 16777619);
    h2 = Math.imul(h2 ^ s.charCodeAt(i), 2246822519);
  }
  return ((h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0')).repeat(4).slice(0, len);
}

const uid = (s: string): string => {
  const h = hex(s, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** Kubernetes draws pod-template hashes from consonants and digits; letters only here, so names stay readable. */
function podTemplateHash(app: DemoApp): string {
  return hex(`${app.namespace}/${app.app}`, 10).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)]);
}

/** Every pod of the sample cluster, spread over the nodes. */
export function demoPods(): DemoPod[] {
  const pods: DemoPod[] = [];
  const hostCount = new Map<string, number>();
  let spread = 0;
  for (const app of DEMO_APPS) {
    const hash = podTemplateHash(app);
    const n = app.workload === 'DaemonSet' ? DEMO_NODES.length : app.replicas;
    for (let i = 0; i < n; i++) {
      const node = app.workload === 'DaemonSet' ? DEMO_NODES[i] : DEMO_NODES[spread++ % DEMO_NODES.length];
      const host = (hostCount.get(node.name) ?? 9) + 1;
      hostCount.set(node.name, host);
      const name =
        app.workload === 'StatefulSet'
          ? `${app.app}-${i}`
          : app.workload === 'DaemonSet'
            ? `${app.app}-${hex(`${app.app}${node.name}`, 5)}`
            : `${app.app}-${hash}-${hex(`${app.app}${i}`, 5)}`;
      pods.push({ uid: uid(`${app.namespace}/${name}`), namespace: app.namespace, name, app, node, ip: `${node.podNet}.${host}` });
    }
  }
  return pods;
}

/** The sample cluster as a Kubernetes List (what `kubectl get pods,nodes,services -A -o json` prints). */
export function demoInventory(startedAt: Date = new Date(Date.now() - 3_600_000)): Record<string, unknown> {
  const ts = startedAt.toISOString();
  const items: Record<string, unknown>[] = [];
  for (const n of DEMO_NODES) {
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        uid: uid(`node/${n.name}`),
        creationTimestamp: ts,
        labels: {
          'kubernetes.io/hostname': n.name,
          ...(n.zone ? { 'topology.kubernetes.io/zone': n.zone, 'topology.kubernetes.io/region': n.region ?? '' } : {}),
        },
      },
      spec: { podCIDR: `${n.podNet}.0/24` },
      status: {
        addresses: [
          { type: 'InternalIP', address: n.ip },
          { type: 'Hostname', address: n.name },
        ],
      },
    });
  }
  for (const p of demoPods()) {
    const a = p.app;
    const labels: Record<string, string> = { 'app.kubernetes.io/name': a.app };
    let owner: Record<string, unknown>;
    if (a.workload === 'Deployment') {
      const hash = podTemplateHash(a);
      labels['pod-template-hash'] = hash;
      owner = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: `${a.app}-${hash}`,
        uid: uid(`rs/${a.namespace}/${a.app}`),
        controller: true,
      };
    } else {
      owner = { apiVersion: 'apps/v1', kind: a.workload, name: a.app, uid: uid(`${a.workload}/${a.namespace}/${a.app}`), controller: true };
      // The labels their controllers add, per rollout and per pod: what a policy selector must not use.
      labels['controller-revision-hash'] = `${a.app}-${podTemplateHash(a)}`;
      if (a.workload === 'StatefulSet') labels['statefulset.kubernetes.io/pod-name'] = p.name;
    }
    // CoreDNS keeps the label kube-dns pods have always had, which DNS egress policies select.
    if (a.service?.name === 'kube-dns') labels['k8s-app'] = 'kube-dns';
    const ports = a.port ? [{ name: a.portName, containerPort: a.port, protocol: a.protocol ?? 'TCP' }] : [];
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, uid: p.uid, labels, ownerReferences: [owner], creationTimestamp: ts },
      spec: { nodeName: p.node.name, containers: [{ name: a.app, image: `example.org/${a.app}:1.0`, ports }] },
      status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], hostIP: p.node.ip, startTime: ts },
    });
  }
  for (const a of DEMO_APPS) {
    if (!a.service) continue;
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: a.service.name, namespace: a.namespace, uid: uid(`svc/${a.namespace}/${a.service.name}`), creationTimestamp: ts },
      spec: {
        type: 'ClusterIP',
        clusterIP: a.service.ip,
        clusterIPs: [a.service.ip],
        selector: { 'app.kubernetes.io/name': a.app },
        ports: [{ name: a.portName, port: a.service.port, targetPort: a.port, protocol: a.protocol ?? 'TCP' }],
      },
    });
  }
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/** A PostgreSQL replica in another region that payments' database streams to: the cross-region edge. */
export const DEMO_DR = {
  name: 'dr-replica',
  cidr: '10.60.0.0/24',
  ip: '10.60.0.5',
  port: 5432,
  zone: 'us-east-1a',
  region: 'us-east-1',
} as const;

/**
 * `--networks` for the demo: the external API's network (on the internet; dnstap names the API
 * itself) and the replica's network (in its zone).
 */
export const DEMO_NETWORKS =
  `${DEMO_EXTERNAL.network}=${DEMO_EXTERNAL.cidr};class=internet,` +
  `${DEMO_DR.name}=${DEMO_DR.cidr};zone=${DEMO_DR.zone};region=${DEMO_DR.region}`;
