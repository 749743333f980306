/** Our HTTP server: exact routes, prefix mounts (longest wins), HEAD, 404/405, handler errors as 500. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpServer, sendText } from '../../src/observe/http.ts';

test('routes, mounts, HEAD, 404, 405 and a failing handler', async (t) => {
  const errors: unknown[] = [];
  const s = new HttpServer().onError((e) => errors.push(e));
  s.route('GET', '/metrics', (req, res) => sendText(res, 200, 'text/plain', 'm\n', req.method === 'HEAD'));
  s.route('POST', '/only-post', (_req, res) => sendText(res, 200, 'text/plain', 'p'));
  s.mount('/api/', (_req, res, url) => sendText(res, 200, 'text/plain', `api ${url.pathname}`));
  s.mount('/api/graph/', (_req, res, url) => sendText(res, 200, 'text/plain', `graph ${url.pathname}?${url.searchParams.get('q')}`));
  s.route('GET', '/boom', () => {
    throw new Error('boom');
  });
  s.route('GET', '/', (_req, res) => sendText(res, 200, 'text/html', 'page'));
  const addr = await s.listen('127.0.0.1', 0);
  t.after(() => s.close());
  const base = `http://127.0.0.1:${addr.port}`;
  const get = async (p: string, init?: RequestInit) => {
    const r = await fetch(base + p, init);
    return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
  };
  assert.deepEqual(await get('/metrics'), { status: 200, body: 'm\n', type: 'text/plain' });
  const head = await get('/metrics', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get('/api/health')).body, 'api /api/health');
  assert.equal((await get('/api/graph/data?q=1')).body, 'graph /api/graph/data?1', 'the longer prefix wins');
  assert.equal((await get('/')).body, 'page');
  assert.equal((await get('/nothing')).status, 404);
  assert.equal((await get('/only-post')).status, 405);
  assert.equal((await get('/only-post', { method: 'POST' })).body, 'p');
  const boom = await get('/boom');
  assert.equal(boom.status, 500);
  assert.equal(errors.length, 1);
  assert.equal((await get('/metrics')).status, 200, 'still serving after a handler failed');
});
