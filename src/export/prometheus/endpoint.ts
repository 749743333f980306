/**
 * GET /metrics as Prometheus exporters serve it: the classic text format 0.0.4 or OpenMetrics
 * 1.0.0 as the Accept header asks, gzipped when Accept-Encoding allows.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './text.ts';
import { negotiateFormat, OPENMETRICS_CONTENT_TYPE, openMetricsBytes } from './openmetrics.ts';
import { sendMaybeGzip } from '../../observe/http-gzip.ts';
import { ByteWriter } from '../../observe/byte-writer.ts';

/**
 * The /metrics handler: `renderInto` writes the classic page. The page is written into a buffer
 * kept from scrape to scrape (see observe/byte-writer.ts); a scrape that overlaps a slower one
 * gets a buffer of its own.
 */
export function metricsHandler(renderInto: (w: ByteWriter) => void): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  let spare: ByteWriter | undefined = new ByteWriter();
  return async (req, res) => {
    const w = spare ?? new ByteWriter();
    spare = undefined;
    w.reset();
    try {
      renderInto(w);
      const om = negotiateFormat(req.headers.accept) === 'openmetrics';
      const page = w.view();
      await sendMaybeGzip(req, res, 200, om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, om ? openMetricsBytes(page) : page);
    } finally {
      // An identity response may still be on its way out of the buffer: reuse it once the response is done.
      res.once('close', () => {
        spare = w;
      });
    }
  };
}
