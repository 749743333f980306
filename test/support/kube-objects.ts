/**
 * Builders for Kubernetes objects as the API serves them (plain JSON), shaped like real ones:
 * pods carry managedFields, env, volumes, conditions and container statuses, because the cost of
 * keeping whole objects is the point of measuring the slim inventory.
 */
import type { KubeObject } from './fake-apiserver.ts';
import { ipv4ToString } from '../../src/decode/record.ts';
import { podAddress } from '../../src/generate/ipt-netflow-stream.ts';

export interface PodInit {
  name: string;
  namespace?: string;
  ip?: string;
  ips?: string[];
  node?: string;
  hostIP?: string;
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  /** containerPort numbers or { port, name, protocol }. */
  ports?: (number | { port: number; name?: string; protocol?: string })[];
  owner?: { kind: string; name: string; apiVersion?: string };
  phase?: string;
  startTime?: Date;
}

export function pod(init: PodInit): KubeObject {
  const ns = init.namespace ?? 'default';
  const start = (init.startTime ?? new Date()).toISOString();
  const ips = init.ips ?? (init.ip ? [init.ip] : []);
  const labels = init.labels ?? {};
  const ports = (init.ports ?? []).map((p) =>
    typeof p === 'number'
      ? { containerPort: p, protocol: 'TCP' }
      : { containerPort: p.port, protocol: p.protocol ?? 'TCP', ...(p.name ? { name: p.name } : {}) },
  );
  const owner = init.owner;
  return {
    metadata: {
      name: init.name,
      namespace: ns,
      labels,
      annotations: { 'kubectl.kubernetes.io/restartedAt': start, 'prometheus.io/scrape': 'true' },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: owner.apiVersion ?? 'apps/v1',
                kind: owner.kind,
                name: owner.name,
                uid: `owner-${owner.kind}-${owner.name}`,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: start,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])), 'f:ownerReferences': {} },
            'f:spec': {
              'f:containers': {
                'k:{"name":"main"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} },
              },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
            },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: start,
          fieldsType: 'FieldsV1',
          subresource: 'status',
          fieldsV1: {
            'f:status': {
              'f:conditions': {},
              'f:containerStatuses': {},
              'f:hostIP': {},
              'f:phase': {},
              'f:podIP': {},
              'f:podIPs': {},
              'f:startTime': {},
            },
          },
        },
      ],
    },
    spec: {
      nodeName: init.node ?? 'node-1',
      hostNetwork: init.hostNetwork ?? false,
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'main',
          image: `registry.example.com/${ns}/${init.name.replace(/-[a-z0-9]+$/, '')}:1.2.3`,
          imagePullPolicy: 'IfNotPresent',
          ports,
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
            { name: 'LOG_LEVEL', value: 'info' },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      volumes: [
        {
          name: 'kube-api-access',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
          },
        },
      ],
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    },
    status: {
      phase: init.phase ?? 'Running',
      hostIP: init.hostIP ?? '10.0.0.1',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      startTime: start,
      qosClass: 'Burstable',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: start,
      })),
      containerStatuses: [
        {
          name: 'main',
          ready: true,
          restartCount: 0,
          started: true,
          image: `registry.example.com/${ns}/app:1.2.3`,
          imageID: `registry.example.com/${ns}/app@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${'cd'.repeat(32)}`,
          state: { running: { startedAt: start } },
        },
      ],
    },
  };
}

export interface NodeInit {
  name: string;
  internalIP: string;
  externalIP?: string;
}

export function node(init: NodeInit): KubeObject {
  const addresses = [
    { type: 'InternalIP', address: init.internalIP },
    { type: 'Hostname', address: init.name },
  ];
  if (init.externalIP) addresses.push({ type: 'ExternalIP', address: init.externalIP });
  return {
    metadata: { name: init.name, labels: { 'kubernetes.io/hostname': init.name, 'kubernetes.io/os': 'linux' } },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
    status: {
      addresses,
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: 'v1.31.0', osImage: 'Debian GNU/Linux 12' },
    },
  };
}

export interface ServiceInit {
  name: string;
  namespace?: string;
  clusterIP: string;
  selector?: Record<string, string>;
  ports?: { port: number; targetPort?: number | string; name?: string; protocol?: string }[];
}

export function service(init: ServiceInit): KubeObject {
  return {
    metadata: { name: init.name, namespace: init.namespace ?? 'default', labels: {} },
    spec: {
      type: 'ClusterIP',
      clusterIP: init.clusterIP,
      clusterIPs: [init.clusterIP],
      selector: init.selector ?? {},
      ports: (init.ports ?? []).map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        protocol: p.protocol ?? 'TCP',
      })),
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    },
    status: { loadBalancer: {} },
  };
}

export interface JobInit {
  name: string;
  namespace?: string;
  /** The CronJob that owns it, if any. */
  cronJob?: string;
}

export function job(init: JobInit): KubeObject {
  return {
    metadata: {
      name: init.name,
      namespace: init.namespace ?? 'default',
      ...(init.cronJob
        ? {
            ownerReferences: [
              {
                apiVersion: 'batch/v1',
                kind: 'CronJob',
                name: init.cronJob,
                uid: `cron-${init.cronJob}`,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      backoffLimit: 6,
      completions: 1,
      parallelism: 1,
      template: { spec: { containers: [{ name: 'main', image: 'busybox' }], restartPolicy: 'Never' } },
    },
    status: { active: 1 },
  };
}

/**
 * A static inventory (a `kind: List`, as `kubectl get -o json` writes it) of `n` minimal running
 * pods `app-K-0` holding 10.244.x addresses in the order of podAddress(K), one app each: what the
 * benches' and fault tests' synthetic ipt-netflow streams send between.
 */
export function appPodList(
  n: number,
  opts: { namespaces: number; nodes: readonly string[] },
): { apiVersion: 'v1'; kind: 'List'; items: object[] } {
  const items = [];
  for (let k = 0; k < n; k++) {
    const ip = ipv4ToString(podAddress(k));
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `app-${k}-0`,
        namespace: `ns-${k % opts.namespaces}`,
        uid: `uid-${k}`,
        labels: { app: `app-${k}` },
        creationTimestamp: '2020-01-01T00:00:00Z',
      },
      spec: { nodeName: opts.nodes[k % opts.nodes.length], containers: [{ name: 'c', image: 'x' }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: '2020-01-01T00:00:00Z' },
    });
  }
  return { apiVersion: 'v1', kind: 'List', items };
}
