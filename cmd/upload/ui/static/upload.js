// The upload page: Uppy's Dashboard with the Tus plugin on this server's endpoint.
// Loaded from this origin only (the Content-Security-Policy allows nothing else); the
// server's configuration comes from the JSON block #tuskit-config, with URLs relative to
// the page so it works behind a proxy's path prefix. See docs/ui.md.
'use strict';

(function () {
  const config = JSON.parse(document.getElementById('tuskit-config').textContent);
  const { Uppy, Dashboard, Tus } = window.Uppy;
  const STORE = 'tuskit.uploads.v1'; // what this browser uploaded: name, size, URL
  const KEEP = 50; // entries kept in that list
  const params = new URLSearchParams(window.location.search);

  const endpoints = {
    tus: config.tus && new URL(config.tus, document.baseURI).href,
    ietf: config.ietf && new URL(config.ietf, document.baseURI).href,
  };
  // tus-js-client's name for the IETF draft version this server's "6" profile speaks.
  const CLIENT_PROTOCOL = { tus: 'tus-v1', ietf: 'ietf-draft-05' };

  function chosenProtocol() {
    const wanted = params.get('protocol') === 'ietf' ? 'ietf' : 'tus';
    if (endpoints[wanted]) return wanted;
    return endpoints.tus ? 'tus' : endpoints.ietf ? 'ietf' : null;
  }

  function formatBytes(n) {
    if (n === null || n === undefined) return 'no limit';
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  }

  let protocol = chosenProtocol();

  const uppy = new Uppy({ id: 'tuskit', autoProceed: true, allowMultipleUploadBatches: true });
  uppy.use(Dashboard, {
    inline: true,
    target: '#dashboard',
    width: '100%',
    height: 420,
    showProgressDetails: true,
    showLinkToFileUploadResult: true,
    proudlyDisplayPoweredByUppy: false,
    note: 'Several files at once; pause and resume each; uploads survive a reload.',
  });
  uppy.use(Tus, {
    endpoint: endpoints[protocol] || endpoints.tus || '',
    protocol: CLIENT_PROTOCOL[protocol || 'tus'],
    retryDelays: [0, 1000, 3000, 5000, 10000], // then Uppy shows the error and a retry button
    // Stored fingerprints (localStorage) are what resume after a reload needs; keep them
    // after success too, so adding a finished file again does not upload it twice.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: false,
    limit: 3,
  });
  window.tuskitUppy = uppy; // for the browser console and the tests

  // -- the server's limits ----------------------------------------------------------------
  function showProtocol() {
    const text = { tus: 'tus 1.0.0', ietf: 'IETF draft (interop 6)' }[protocol];
    document.getElementById('limit-protocol').textContent =
      text ? text + ' at ' + new URL(endpoints[protocol]).pathname : 'no upload protocol is served';
  }

  async function showLimits() {
    const size = document.getElementById('limit-size');
    size.textContent = formatBytes(config.maxSize);
    if (!endpoints.tus) return;
    try { // the live value: the server behind this URL is the one that decides
      const res = await fetch(endpoints.tus, { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } });
      const max = res.headers.get('Tus-Max-Size');
      size.textContent = formatBytes(max === null ? null : Number(max));
    } catch (err) {
      uppy.log('[tuskit] could not ask the server for its limits: ' + err, 'warning');
    }
  }

  // -- the IETF switch --------------------------------------------------------------------
  const toggle = document.getElementById('protocol-ietf');
  if (!endpoints.ietf || !endpoints.tus) document.getElementById('protocol-switch').hidden = true;
  toggle.checked = protocol === 'ietf';
  toggle.addEventListener('change', function () {
    protocol = toggle.checked ? 'ietf' : 'tus';
    uppy.getPlugin('Tus').setOptions({ endpoint: endpoints[protocol], protocol: CLIENT_PROTOCOL[protocol] });
    if (toggle.checked) params.set('protocol', 'ietf'); else params.delete('protocol');
    const query = params.toString();
    window.history.replaceState(null, '', query ? '?' + query : window.location.pathname);
    showProtocol();
  });

  // -- what this browser uploaded ---------------------------------------------------------
  function loadMine() {
    try {
      const list = JSON.parse(window.localStorage.getItem(STORE) || '[]');
      return Array.isArray(list) ? list : [];
    } catch (err) {
      return [];
    }
  }

  function renderMine() {
    const list = loadMine();
    const ol = document.getElementById('mine');
    ol.replaceChildren(...list.map(function (item) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = item.url;
      a.textContent = item.name;
      a.download = item.name;
      a.className = 'download';
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = formatBytes(item.size) + ' · ' + item.protocol + ' · ' +
        new Date(item.at).toLocaleString();
      li.append(a, meta);
      return li;
    }));
    document.getElementById('mine-empty').hidden = list.length > 0;
    document.getElementById('mine-forget').hidden = list.length === 0;
  }

  uppy.on('upload-success', function (file, response) {
    if (!response || !response.uploadURL) return;
    const entry = { name: file.name, size: file.size, url: response.uploadURL, protocol: protocol, at: Date.now() };
    const list = loadMine().filter(function (item) { return item.url !== entry.url; });
    list.unshift(entry);
    window.localStorage.setItem(STORE, JSON.stringify(list.slice(0, KEEP)));
    renderMine();
  });

  document.getElementById('mine-forget').addEventListener('click', function () {
    window.localStorage.removeItem(STORE);
    renderMine();
  });

  showProtocol();
  showLimits();
  renderMine();
})();
