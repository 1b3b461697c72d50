// Upload a file with tus-js-client and print how it ended as one JSON line:
// {"event": "success"} or {"event": "error", "status", "body", "message"}, where status
// and body come from the error callback's `originalResponse`.
// Usage: node reject.mjs <endpoint> <file> [<filename metadata>]
import * as fs from 'node:fs'
import * as tus from 'tus-js-client'

const [endpoint, file, filename] = process.argv.slice(2)
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: 1024 * 1024,
  retryDelays: [],
  metadata: { filename: filename ?? 'a.bin' },
  onError(err) {
    const res = err.originalResponse
    console.log(JSON.stringify({
      event: 'error',
      status: res ? res.getStatus() : null,
      body: res ? res.getBody() : null,
      message: String(err.message),
    }))
  },
  onSuccess() {
    console.log(JSON.stringify({ event: 'success', url: upload.url }))
  },
})
upload.start()
