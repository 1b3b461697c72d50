// @tus/server 2.x + @tus/file-store, one process, for the benchmark (bench/targets.py starts it).
// Usage: node tus-node-server.mjs --modules DIR/node_modules --host 127.0.0.1 --port P --dir DATA
// The packages live in a cache dir (bench/.cache/node), so they are imported by file URL.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    dir: { type: 'string' },
  },
});
if (!values.modules || !values.port || !values.dir) {
  console.error('usage: --modules DIR --port P --dir DATA [--host H]');
  process.exit(2);
}
const load = (pkg) => import(pathToFileURL(join(values.modules, pkg, 'dist', 'index.js')).href);
const { Server } = await load('@tus/server');
const { FileStore } = await load('@tus/file-store');

const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory: values.dir }),
});
const http = server.listen({ host: values.host, port: Number(values.port) }, () => {
  console.log(`tus-node-server listening on http://${values.host}:${values.port}/files`);
});
const stop = () => http.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
