/**
 * The OTel resource: who is reporting. Our defaults first, then the standard environment
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, read by the SDK's own detector), then what the
 * configuration names explicitly (a flag is the most specific choice).
 */
import { hostname } from 'node:os';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';

export interface ResourceOptions {
  /** k8s.cluster.name (the --cluster-name flag). */
  clusterName?: string;
  /** Overrides service.name even over OTEL_SERVICE_NAME. */
  serviceName?: string;
  /** Overrides service.instance.id (default: POD_NAME, else HOSTNAME, else the host name). */
  instanceId?: string;
  env?: NodeJS.ProcessEnv;
}

export function buildResource(opts: ResourceOptions = {}): Resource {
  const env = opts.env ?? process.env;
  const host = hostname();
  const base = resourceFromAttributes({
    'service.name': 'netflow-k8s',
    'service.instance.id': env.POD_NAME || env.HOSTNAME || host,
    'host.name': host,
    ...(env.POD_NAME ? { 'k8s.pod.name': env.POD_NAME } : {}),
    ...(env.POD_NAMESPACE ? { 'k8s.namespace.name': env.POD_NAMESPACE } : {}),
    ...(env.NODE_NAME ? { 'k8s.node.name': env.NODE_NAME } : {}),
  });
  const explicit: Record<string, string> = {};
  if (opts.clusterName) explicit['k8s.cluster.name'] = opts.clusterName;
  if (opts.serviceName) explicit['service.name'] = opts.serviceName;
  if (opts.instanceId) explicit['service.instance.id'] = opts.instanceId;
  return defaultResource()
    .merge(base)
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes(explicit));
}
