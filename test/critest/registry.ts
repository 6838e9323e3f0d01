// A read-only registry over a store images.ts made, speaking as much of the distribution API as
// containerd's pulls need: GET /v2/, HEAD|GET /v2/<name>/manifests/<tag|digest>, HEAD|GET
// /v2/<name>/blobs/<digest>. containerd, as a mirror's client, sends the upstream host as ?ns=<host>:
// a name is looked up as "<ns>/<name>", else by its path under any host (the stored paths differ).
// Run as a program (in the environment's network namespace): node registry.js PORT STORE.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { RegistryIndex } from './images.js';

const API = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** Serve STORE on 127.0.0.1:PORT; each request is logged to stdout. */
export function serveRegistry(port: number, store: string): Server {
  const index = JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as RegistryIndex;
  const blobPath = (digest: string) => join(store, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const repository = (name: string, ns: string | null) =>
    (ns && index[`${ns}/${name}`]) || (ns === 'docker.io' && index[`docker.io/library/${name}`]) || Object.entries(index).find(([k]) => k.split('/').slice(1).join('/') === name)?.[1];

  const error = (res: ServerResponse, status: number, code: string, message: string) => {
    const body = JSON.stringify({ errors: [{ code, message }] });
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...API });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  /** Send the blob DIGEST (a manifest's type read from its own mediaType); false when there is none. */
  const blob = (res: ServerResponse, digest: string, manifest: boolean) => {
    const path = blobPath(digest);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest) || !existsSync(path)) return false;
    const type = manifest ? (JSON.parse(readFileSync(path, 'utf8')) as { mediaType: string }).mediaType : 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': statSync(path).size, 'Docker-Content-Digest': digest, ETag: `"${digest}"`, ...API });
    if (res.req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
    return true;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    console.log(new Date().toISOString(), req.method, req.url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return error(res, 405, 'UNSUPPORTED', 'a read-only registry');
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2, ...API });
      return res.end(req.method === 'HEAD' ? undefined : '{}');
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return error(res, 404, 'NOT_FOUND', 'no such route');
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    const repo = repository(name, url.searchParams.get('ns'));
    if (!repo) return error(res, 404, 'NAME_UNKNOWN', `repository ${name} not known`);
    if (kind === 'blobs') return blob(res, ref, false) || error(res, 404, 'BLOB_UNKNOWN', `blob ${ref} unknown`);
    const digest = ref.startsWith('sha256:') ? (Object.values(repo).includes(ref) ? ref : undefined) : repo[ref];
    return (digest && blob(res, digest, true)) || error(res, 404, 'MANIFEST_UNKNOWN', `manifest ${ref} unknown`);
  });
  server.listen(port, '127.0.0.1', () => console.log(`registry on 127.0.0.1:${port}, store ${store}`));
  return server;
}

if (process.argv[1] === import.meta.filename) serveRegistry(Number(process.argv[2]), process.argv[3]!);
