/**
 * GET /metrics as Prometheus exporters serve it: the classic text format 0.0.4 or OpenMetrics
 * 1.0.0 as the Accept header asks, gzipped when Accept-Encoding allows.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './text.ts';
import { negotiateFormat, OPENMETRICS_CONTENT_TYPE, openMetricsBytes } from './openmetrics.ts';
import { sendMaybeGzip } from '../../observe/http-gzip.ts';

/** `render` gives the classic page. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, render: () => string): Promise<void> {
  const om = negotiateFormat(req.headers.accept) === 'openmetrics';
  // Encoded once; OpenMetrics is made from the bytes.
  const page = Buffer.from(render());
  return sendMaybeGzip(req, res, 200, om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, om ? openMetricsBytes(page) : page);
}
