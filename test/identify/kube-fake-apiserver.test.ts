/**
 * The fake API server itself, spoken to over raw HTTPS: the other kube tests trust it to behave
 * like kube-apiserver, so its protocol is checked here without client-node in between.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { pod } from '../support/kube-objects.ts';

let server: FakeApiServer;

before(async () => {
  server = await FakeApiServer.start();
  for (let i = 0; i < 5; i++) server.create('pods', pod({ name: `p${i}`, ip: `10.1.0.${i}` }));
});

after(async () => {
  await server.close();
});

interface Reply {
  status: number;
  body: string;
}

function get(path: string, token: string = server.token): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { ca: server.caPem, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a watch and collects its events until `until` says stop (or the server ends it). */
function watch(
  path: string,
  until: (events: { type: string; object: Record<string, any> }[]) => boolean,
): Promise<{ type: string; object: Record<string, any> }[]> {
  return new Promise((resolve, reject) => {
    const events: { type: string; object: Record<string, any> }[] = [];
    const req = request(`${server.url}${path}`, { ca: server.caPem, headers: { authorization: `Bearer ${server.token}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as { type: string; object: Record<string, any> });
          buf = buf.slice(nl + 1);
        }
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (err) => (req.destroyed ? resolve(events) : reject(err)));
    req.end();
  });
}

test('401 without the bearer token', async () => {
  const r = await get('/api/v1/pods', '');
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).code, 401);
  assert.equal((await get('/api/v1/pods', 'wrong')).status, 401);
});

test('lists in chunks with limit and continue, at one resourceVersion', async () => {
  const first = JSON.parse((await get('/api/v1/pods?limit=2')).body);
  assert.equal(first.kind, 'PodList');
  assert.equal(first.items.length, 2);
  assert.equal(first.metadata.remainingItemCount, 3);
  const rv = first.metadata.resourceVersion;
  // A change between pages does not show in the pages that follow.
  server.create('pods', pod({ name: 'p9', ip: '10.1.0.9' }));
  const names = first.items.map((p: { metadata: { name: string } }) => p.metadata.name);
  let cont = first.metadata.continue;
  while (cont) {
    const page = JSON.parse((await get(`/api/v1/pods?limit=2&continue=${encodeURIComponent(cont)}`)).body);
    assert.equal(page.metadata.resourceVersion, rv);
    names.push(...page.items.map((p: { metadata: { name: string } }) => p.metadata.name));
    cont = page.metadata.continue;
  }
  assert.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4']);
  server.remove('pods', 'default', 'p9');
  const stale = await get('/api/v1/pods?limit=2&continue=bm90LWEtdG9rZW4');
  assert.equal(stale.status, 410);
});

test('watch resumes from a resourceVersion, sends bookmarks only when asked, and 410 on a compacted one', async () => {
  const rv = JSON.parse((await get('/api/v1/pods')).body).metadata.resourceVersion as string;
  server.update('pods', 'default', 'p1', (p) => {
    (p.metadata.labels as Record<string, string>).v = '2';
  });
  server.remove('pods', 'default', 'p2');
  const events = await watch(`/api/v1/pods?watch=true&resourceVersion=${rv}`, (e) => e.length >= 2);
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['MODIFIED p1', 'DELETED p2'],
  );
  assert.ok(Number(events[1].object.metadata.resourceVersion) > Number(events[0].object.metadata.resourceVersion));

  const withBookmarks = watch(
    `/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${server.resourceVersion}`,
    (e) => e.length >= 1,
  );
  const without = watch(`/api/v1/pods?watch=true&resourceVersion=${server.resourceVersion}`, (e) => e.length >= 1);
  while (server.activeWatches('pods') < 2) await new Promise((r) => setTimeout(r, 5));
  server.bookmark();
  server.create('pods', pod({ name: 'p7', ip: '10.1.0.7' }));
  assert.deepEqual(
    (await withBookmarks).map((e) => e.type),
    ['BOOKMARK'],
  );
  assert.deepEqual(
    (await without).map((e) => e.type),
    ['ADDED'],
  );

  server.expireHistory();
  const gone = await watch(`/api/v1/pods?watch=true&resourceVersion=${rv}`, () => false);
  assert.equal(gone.length, 1);
  assert.equal(gone[0].type, 'ERROR');
  assert.equal(gone[0].object.code, 410);
});

test('dropped watches break mid-event; injected 500s; stop and start on the same port', async () => {
  const url = server.url;
  const broken = new Promise<string>((resolve) => {
    const req = request(
      `${server.url}/api/v1/nodes?watch=true`,
      { ca: server.caPem, headers: { authorization: `Bearer ${server.token}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('error', () => resolve(`error after ${JSON.stringify(body)}`));
        res.on('aborted', () => resolve(`aborted after ${JSON.stringify(body)}`));
      },
    );
    req.on('error', () => resolve('request error'));
    req.end();
  });
  while (server.activeWatches('nodes') < 1) await new Promise((r) => setTimeout(r, 5));
  server.dropWatches();
  assert.match(await broken, /after "\{\\"type\\":\\"MODIFIED\\",\\"object\\":\{\\"kind\\":\\"Po"/);

  server.failNext(2, 500, { resource: 'services' });
  assert.equal((await get('/api/v1/services')).status, 500);
  assert.equal((await get('/api/v1/pods')).status, 200, 'only services fail');
  assert.equal((await get('/api/v1/services')).status, 500);
  assert.equal((await get('/api/v1/services')).status, 200);

  await server.stop();
  await assert.rejects(get('/api/v1/pods'));
  await server.start();
  assert.equal(server.url, url);
  const list = JSON.parse((await get('/api/v1/pods')).body);
  assert.ok(
    list.items.some((p: { metadata: { name: string } }) => p.metadata.name === 'p7'),
    'objects survive a restart',
  );
});
