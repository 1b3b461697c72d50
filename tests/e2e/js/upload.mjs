// Upload one file with tus-js-client (Node API), driven by tests/e2e/test_clients.py.
//
// Usage: node upload.mjs '<json options>'
//   endpoint         creation URL (required)
//   file             path of the file to upload (required)
//   chunkSize        bytes per PATCH (default 1 MiB)
//   parallelUploads  number of partial uploads (default 1; > 1 uses concatenation)
//   abortAfterBytes  abort once onProgress passes this many bytes, print the URLs, exit 0
//   resumeUrl        resume a single upload from this URL (`uploadUrl`)
//   urlStorage       path of a JSON file used as tus-js-client's URL storage; with
//                    `resume: true` the upload continues from the stored entry (this is how
//                    a parallel upload resumes: its partial URLs are only kept there)
//   resume           look the file up in `urlStorage` (findPreviousUploads) before starting
//   protocol         tus-js-client's `protocol`: 'tus-v1' (default), 'ietf-draft-05'
//                    (IETF resumable uploads, interop version 6) or 'ietf-draft-03' (5)
//
// Prints exactly one JSON line on stdout:
//   {"event": "aborted" | "success", "url", "parallelUploadUrls", "bytesUploaded",
//    "firstProgress"}
// and exits 0; on an error it prints {"event": "error", "message"} and exits 1.

import * as fs from 'node:fs'
import * as tus from 'tus-js-client'

const MiB = 1024 * 1024

// A URL storage kept in one JSON file (the shape tus-js-client's urlStorage API expects).
// Writes are synchronous: one process uses the file at a time in these tests.
class JsonFileUrlStorage {
  constructor(path) {
    this.path = path
  }

  _read() {
    try {
      return JSON.parse(fs.readFileSync(this.path, 'utf8'))
    } catch (err) {
      if (err.code === 'ENOENT') return {}
      throw err
    }
  }

  _write(data) {
    const tmp = `${this.path}.tmp`
    fs.writeFileSync(tmp, JSON.stringify(data, null, 1))
    fs.renameSync(tmp, this.path)
  }

  async findAllUploads() {
    return this._find('tus::')
  }

  async findUploadsByFingerprint(fingerprint) {
    return this._find(`tus::${fingerprint}::`)
  }

  _find(prefix) {
    const data = this._read()
    return Object.keys(data)
      .filter((key) => key.startsWith(prefix))
      .map((key) => ({ ...data[key], urlStorageKey: key }))
  }

  async removeUpload(urlStorageKey) {
    const data = this._read()
    delete data[urlStorageKey]
    this._write(data)
  }

  async addUpload(fingerprint, upload) {
    const data = this._read()
    const key = `tus::${fingerprint}::${Object.keys(data).length}-${Date.now()}`
    data[key] = upload
    this._write(data)
    return key
  }
}

function emit(obj, code) {
  process.stdout.write(`${JSON.stringify(obj)}\n`, () => process.exit(code))
}

async function main() {
  const opts = JSON.parse(process.argv[2] ?? '{}')
  if (!opts.endpoint || !opts.file) throw new Error('endpoint and file are required')
  const parallel = opts.parallelUploads ?? 1
  const storage = opts.urlStorage ? new JsonFileUrlStorage(opts.urlStorage) : null
  const input = fs.createReadStream(opts.file)
  let firstProgress = null
  let lastProgress = 0
  let aborting = false

  const options = {
    endpoint: opts.endpoint,
    chunkSize: opts.chunkSize ?? MiB,
    retryDelays: [0, 200, 500],
    metadata: { filename: opts.filename ?? 'source.bin', filetype: 'application/octet-stream' },
    storeFingerprintForResuming: storage !== null,
    removeFingerprintOnSuccess: false,
  }
  if (storage) options.urlStorage = storage
  if (parallel > 1) options.parallelUploads = parallel
  if (opts.resumeUrl) options.uploadUrl = opts.resumeUrl
  if (opts.protocol) options.protocol = opts.protocol

  const done = new Promise((resolve, reject) => {
    options.onError = reject
    options.onSuccess = () => resolve('success')
    options.onProgress = (sent) => {
      if (firstProgress === null) firstProgress = sent
      lastProgress = sent
      if (!aborting && opts.abortAfterBytes != null && sent >= opts.abortAfterBytes) {
        aborting = true
        resolve('aborted')
      }
    }
  })

  const upload = new tus.Upload(input, options)
  if (opts.resume) {
    if (!storage) throw new Error('resume needs urlStorage')
    const previous = await upload.findPreviousUploads()
    if (previous.length === 0) throw new Error(`no stored upload in ${opts.urlStorage}`)
    upload.resumeFromPreviousUpload(previous[0])
  }
  upload.start()
  const how = await done
  if (how === 'aborted') await upload.abort()
  return {
    event: how,
    url: upload.url,
    parallelUploadUrls: upload._parallelUploadUrls ?? null,
    bytesUploaded: lastProgress,
    firstProgress,
  }
}

main().then(
  (result) => emit(result, 0),
  (err) => emit({ event: 'error', message: String(err?.stack ?? err) }, 1),
)
