// Resumable Uploads for HTTP (interop version 9) with Node's own HTTP client, which
// reports interim responses ('information' events): an optimistic creation sends the
// whole file in one POST; the 104 gives the upload's URL before the body is read. The
// request is cut once `abortAfterBytes` were sent (the network goes away); then the
// client asks for the offset (HEAD) and appends the rest (PATCH, Upload-Complete: ?1).
//
// Usage: node rufh.mjs '{"endpoint": ".../uploads/", "file": "path", "abortAfterBytes": N}'
// Prints one JSON line: {"url", "interim": [...], "offsetAfterAbort", "status",
// "complete"} and exits 0; on an error {"event": "error", "message"} and exit 1.

import * as fs from 'node:fs'
import * as http from 'node:http'

const VERSION = '9'
const PIECE = 256 * 1024

function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    if (body) req.end(body)
    else req.end()
  })
}

// POST the whole file; resolve with the 104s seen once `abortAfter` bytes were written
// and the request was destroyed.
function optimisticCreation(endpoint, file, size, abortAfter) {
  return new Promise((resolve, reject) => {
    const interim = []
    const req = http.request(endpoint, {
      method: 'POST',
      headers: {
        'Upload-Draft-Interop-Version': VERSION,
        'Upload-Complete': '?1',
        'Content-Length': String(size),
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': 'inline; filename="rufh.bin"',
      },
    })
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('response', (res) => reject(new Error(`unexpected final response ${res.statusCode}`)))
    req.on('error', () => {}) // destroying the request is the point
    const fd = fs.openSync(file, 'r')
    let sent = 0
    const buffer = Buffer.alloc(PIECE)
    const pump = () => {
      while (sent < abortAfter) {
        const n = fs.readSync(fd, buffer, 0, Math.min(PIECE, abortAfter - sent), sent)
        sent += n
        if (!req.write(Buffer.from(buffer.subarray(0, n)))) {
          req.once('drain', pump)
          return
        }
      }
      fs.closeSync(fd)
      // let the server read what was sent and the 104 arrive, then lose the network
      const waitFor104 = () => {
        if (interim.some((i) => i.status === 104 && i.headers.location)) {
          setTimeout(() => { req.destroy(); resolve(interim) }, 300)
        } else setTimeout(waitFor104, 20)
      }
      waitFor104()
    }
    pump()
  })
}

async function main() {
  const opts = JSON.parse(process.argv[2] ?? '{}')
  const size = fs.statSync(opts.file).size
  const interim = await optimisticCreation(opts.endpoint, opts.file, size, opts.abortAfterBytes)
  const first = interim.find((i) => i.status === 104 && i.headers.location)
  if (first.headers['upload-draft-interop-version'] !== VERSION) throw new Error('104 of another version')
  const url = new URL(first.headers.location, opts.endpoint).href
  let offset = -1
  for (let i = 0; i < 50; i++) {
    const head = await send('HEAD', url, { 'Upload-Draft-Interop-Version': VERSION })
    if (head.status !== 204) throw new Error(`HEAD answered ${head.status}`)
    offset = Number(head.headers['upload-offset'])
    if (offset === opts.abortAfterBytes) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const rest = fs.readFileSync(opts.file).subarray(offset)
  const done = await send('PATCH', url, {
    'Upload-Draft-Interop-Version': VERSION,
    'Upload-Complete': '?1',
    'Upload-Offset': String(offset),
    'Content-Type': 'application/partial-upload',
    'Content-Length': String(rest.length),
  }, rest)
  return { url, interim, offsetAfterAbort: offset, status: done.status, complete: done.headers['upload-complete'] }
}

main().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0)),
  (err) => process.stdout.write(`${JSON.stringify({ event: 'error', message: String(err?.stack ?? err) })}\n`, () => process.exit(1)),
)
