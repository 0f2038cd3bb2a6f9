/* ROC Bridge — page d'exploitation. Plain JS, no network beyond this runtime.
 * Signs in through Node-RED's own login (POST /auth/token), keeps the token where the editor
 * keeps it (localStorage "auth-tokens"), polls GET /roc/ops/summary and draws the charts with
 * uPlot (npm `uplot`, served by the runtime from node_modules at vendor/). Nothing here holds
 * patient data: the server masks it. */
/* global document, window, setTimeout, fetch, URL, URLSearchParams, FormData, localStorage, location, Node, setInterval, clearInterval, uPlot, devicePixelRatio */
'use strict';
(function () {
  const POLL_MS = 3000;
  const ROOT = new URL('../../', location.href); // httpAdminRoot
  const API = new URL('./', location.href); // /roc/ops/
  const COLORS = ['#1f5fa8', '#1b7f3b', '#b86e00', '#7b3fa0', '#b3261e', '#00838f', '#5d4037', '#546e7a'];
  const $ = (id) => document.getElementById(id);
  let token = readToken();
  let pollTimer = null;
  let current = null; // the message shown in the detail
  let nextCursor = null;
  let lastQuery = '';

  function readToken() {
    try {
      const t = JSON.parse(localStorage.getItem('auth-tokens') || 'null');
      return t && t.access_token ? t.access_token : null;
    } catch {
      return null;
    }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  /** A table: its header labels, then one array of cells per row (a value, or a ready <td>). */
  function table(heads, rows) {
    const td = (c) => (c instanceof Node && c.nodeName === 'TD' ? c : el('td', {}, c));
    return el(
      'table',
      { class: 'table' },
      el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map(td)))),
    );
  }
  async function api(path, options) {
    const res = await fetch(new URL(path, API), {
      ...options,
      headers: { accept: 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    });
    if (res.status === 401) {
      showLogin();
      throw new Error('session expirée : reconnectez-vous');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.erreur || body.reason || body.error || 'erreur ' + res.status);
    return body;
  }

  // ------------------------------------------------------------------ login
  function showLogin() {
    token = null;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
    $('connexion').hidden = false;
    $('vue-tableau').hidden = true;
    $('vue-messages').hidden = true;
    $('deconnexion').hidden = true;
    $('utilisateur').textContent = '';
    $('login-utilisateur').focus();
  }

  $('form-connexion').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('connexion-erreur').textContent = '';
    const res = await fetch(new URL('auth/token', ROOT), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-admin',
        grant_type: 'password',
        scope: '',
        username: $('login-utilisateur').value,
        password: $('login-mot').value,
      }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.access_token) {
      $('connexion-erreur').textContent = 'Identifiant ou mot de passe refusé.';
      return;
    }
    token = body.access_token;
    localStorage.setItem('auth-tokens', JSON.stringify(body));
    $('login-mot').value = '';
    start();
  });

  $('deconnexion').addEventListener('click', () => {
    localStorage.removeItem('auth-tokens');
    showLogin();
  });

  async function start() {
    $('connexion').hidden = true;
    show('tableau');
    $('deconnexion').hidden = false;
    try {
      const r = await fetch(new URL('settings', ROOT), { headers: token ? { authorization: 'Bearer ' + token } : {} });
      const s = await r.json();
      if (s.user) $('utilisateur').textContent = s.user.username + (s.user.role ? ' (' + s.user.role + ')' : '');
    } catch {
      /* the name is a nicety */
    }
    refresh();
    if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
  }

  function show(which) {
    $('vue-tableau').hidden = which !== 'tableau';
    $('vue-messages').hidden = which !== 'messages';
    $('onglet-tableau').classList.toggle('actif', which === 'tableau');
    $('onglet-messages').classList.toggle('actif', which === 'messages');
  }
  $('onglet-tableau').addEventListener('click', () => show('tableau'));
  $('onglet-messages').addEventListener('click', () => {
    show('messages');
    if (!$('table-messages').tBodies[0].rows.length) search(false);
  });

  // ------------------------------------------------------------------ dashboard
  async function refresh() {
    try {
      const s = await api('summary');
      $('maj-erreur').textContent = '';
      render(s);
      renderHeld((await api('../journal/held')).held || []);
    } catch (e) {
      $('maj-erreur').textContent = e.message;
    }
  }

  /** A venue number as shown: PV1-19 in clear, an NDA or IPP masked (last 3 characters). */
  function venueLabel(key) {
    const i = key.indexOf(':');
    const src = key.slice(0, i);
    const v = key.slice(i + 1);
    return src === 'PV1-19' ? v : (src === 'PID-18' ? 'NDA ' : 'IPP ') + '•'.repeat(Math.max(0, v.length - 3)) + v.slice(-3);
  }

  function renderHeld(held) {
    const tb = $('table-suspendues').tBodies[0];
    tb.replaceChildren(
      ...held.map((h) =>
        el(
          'tr',
          { 'data-venue': venueLabel(h.orderingKey) },
          el('td', {}, venueLabel(h.orderingKey)),
          el('td', {}, fmtTime(h.since)),
          el('td', {}, h.reason || ''),
          el('td', { class: 'n' }, h.waiting),
          el(
            'td',
            {},
            el('button', { type: 'button', onclick: () => release(h, 'retry') }, 'Libérer'),
            ' ',
            el('button', { type: 'button', class: 'secondaire', onclick: () => release(h, 'skip') }, 'Écarter le message'),
          ),
        ),
      ),
    );
    if (!tb.rows.length) tb.append(el('tr', {}, el('td', { colspan: 5, class: 'aide' }, 'Aucune venue suspendue.')));
  }

  async function release(h, mode) {
    try {
      const q = '?node=' + encodeURIComponent(h.node) + (mode === 'skip' ? '&mode=skip' : '');
      const r = await api('../journal/release/' + encodeURIComponent(h.orderingKey) + q, { method: 'POST' });
      $('suspendues-etat').textContent =
        'Venue ' + venueLabel(r.released) + (mode === 'skip' ? ' : message écarté, ' : ' : libérée, ') + r.runnable + ' message(s) repris.';
      refresh();
    } catch (e) {
      $('suspendues-etat').textContent = 'Refusé : ' + e.message;
    }
  }

  async function answerAction(a, verb) {
    try {
      await api('../outbound/' + verb + '/' + a.id, { method: 'POST' });
      $('action-etat').textContent = 'Réponse ' + a.id + (verb === 'resend' ? ' remise en file.' : ' annulée.');
    } catch (e) {
      $('action-etat').textContent = 'Refusé : ' + e.message;
    }
  }

  function fmtTime(iso) {
    return iso ? new Date(iso).toLocaleString('fr-FR') : '—';
  }

  /** A rule's threshold as read: a share in %, minutes, days, a count; `cmp` before it. */
  function threshold(rule, v, cmp) {
    if (v === undefined || v === null) return '—';
    if (rule.metric === 'koRate' || rule.metric === 'amcUnreachable') return cmp + Math.round(v * 100) + ' %';
    if (rule.metric === 'holdAgeMinutes' || rule.metric === 'gapSilentMinutes') return cmp + v + ' min';
    if (rule.metric === 'certificateDays') return cmp + v + ' jours';
    return cmp + v;
  }
  const METRIQUES = {
    koRate: 'taux de KO (10 min)',
    amcUnreachable: 'AMC injoignable (KO techniques)',
    queueDepth: 'réponses GAP en file',
    holdAgeMinutes: 'âge de la plus vieille venue suspendue',
    recheckBacklog: 're-vérifications dues',
    certificateDays: 'jours avant expiration du certificat',
    gapSilentMinutes: 'silence du GAP',
  };

  function renderRules(alerts) {
    const rules = alerts.rules || [];
    $('regles-source').textContent = alerts.rulesFrom ? '(' + alerts.rulesFrom.join(' + ') + ')' : '';
    const secs = (ms) => (!ms ? 'aussitôt' : ms % 60000 === 0 ? ms / 60000 + ' min' : Math.round(ms / 1000) + ' s');
    $('table-regles').tBodies[0].replaceChildren(
      ...rules.map((r) =>
        el(
          'tr',
          { 'data-regle': r.id },
          el('td', {}, el('strong', {}, r.id), el('br'), el('span', { class: 'aide' }, METRIQUES[r.metric] || r.metric)),
          el('td', {}, threshold(r, r.raise, r.below ? '≤ ' : '≥ ') + (r.minCount ? ' (≥ ' + r.minCount + ' échanges)' : '')),
          el('td', {}, threshold(r, r.clear === undefined ? r.raise : r.clear, r.below ? '> ' : '< ')),
          el('td', {}, secs(r.forMs)),
          el('td', { class: r.severity === 'critical' ? 'etat-open' : '' }, r.severity === 'critical' ? 'critique' : 'avertissement'),
        ),
      ),
    );
  }

  function render(s) {
    $('maj').textContent = 'Mis à jour ' + new Date(s.at).toLocaleTimeString('fr-FR');
    renderRules(s.alerts || {});
    // alerts
    const ul = $('alertes');
    ul.replaceChildren();
    if (!s.alerts.active.length) ul.append(el('li', { class: 'calme' }, 'Aucune alerte.'));
    for (const a of s.alerts.active)
      ul.append(el('li', { class: a.severity }, a.text, el('span', { class: 'aide' }, ' — depuis ' + fmtTime(a.raisedAt))));
    // cards
    const inb = s.inbound;
    const received = Object.values(inb).reduce((x, y) => x + y, 0);
    const t = s.stats.totals;
    const cap = s.queues.capped ? '+' : '';
    const cards = [
      ['messages-recus', 'Messages reçus', received],
      ['messages-traites', 'Traités', inb.DONE + inb.IGNORED],
      ['messages-en-cours', 'En attente / en cours', inb.RECEIVED + inb.PROCESSING],
      ['messages-echec', 'En échec', inb.FAILED, inb.FAILED > 0],
      ['venues-suspendues', 'Venues suspendues', s.queues.held, s.queues.held > 0],
      ['reponses-attente', 'Réponses GAP en file', s.queues.outboundQueued + cap],
      ['reponses-erreur', 'Réponses GAP en erreur', s.queues.outboundError + cap, s.queues.outboundError > 0],
      ['reverifications', 'Re-vérifications dues', s.queues.recheckDue + cap],
      ['echanges', 'Échanges AMC (60 min)', t.count],
      ['ok-ko', 'OK / KO / KO tech.', t.ok + ' / ' + t.ko + ' / ' + t.technical, t.technical > 0],
      ['taux-ok', 'Taux OK', t.count ? Math.round((100 * t.ok) / t.count) + ' %' : '—'],
      ['latence', 'Latence p50 / p95', t.p50 !== undefined ? t.p50 + ' / ' + t.p95 + ' ms' : '—'],
    ];
    $('cartes').replaceChildren(
      ...cards.map(([id, name, v, bad]) =>
        el(
          'div',
          { class: 'carte' + (bad ? ' alerte' : ''), 'data-carte': id },
          el('div', { class: 'valeur' }, v),
          el('div', { class: 'nom' }, name),
        ),
      ),
    );
    timeChart($('graphe-debit'), s.stats.services, ['count'], 'échanges/min');
    timeChart($('graphe-latence'), s.stats.services, ['p50', 'p95'], 'ms');
    timeChart($('graphe-debit-amc'), s.stats.amcs, ['count'], 'échanges/min');
    timeChart($('graphe-latence-amc'), s.stats.amcs, ['p50', 'p95'], 'ms');
    outcomeChart($('graphe-issues'), s.stats.services);
    // per AMC
    const tbAmc = $('table-amc').tBodies[0];
    tbAmc.replaceChildren(
      ...Object.entries(s.stats.amcs)
        .sort((a, b) => b[1].totals.count - a[1].totals.count)
        .map(([amc, x]) =>
          el(
            'tr',
            {},
            el('td', {}, amc),
            el('td', { class: 'n' }, x.totals.count),
            el('td', { class: 'n' }, x.totals.ok),
            el('td', { class: 'n' }, x.totals.ko),
            el('td', { class: 'n' }, x.totals.technical),
            el('td', { class: 'n' }, x.totals.p50 === undefined ? '—' : x.totals.p50),
            el('td', { class: 'n' }, x.totals.p95 === undefined ? '—' : x.totals.p95),
          ),
        ),
    );
    if (!tbAmc.rows.length) tbAmc.append(el('tr', {}, el('td', { colspan: 7, class: 'aide' }, 'Aucun échange dans l’heure.')));
    const tbKo = $('table-ko').tBodies[0];
    tbKo.replaceChildren(
      ...s.stats.topKo.map((k) => el('tr', {}, el('td', {}, k.service), el('td', {}, k.code), el('td', { class: 'n' }, k.count))),
    );
    if (!tbKo.rows.length) tbKo.append(el('tr', {}, el('td', { colspan: 3, class: 'aide' }, 'Aucun KO dans l’heure.')));
    dossierChart(
      $('graphe-dossiers'),
      Object.entries(s.dossiers).sort((a, b) => b[1] - a[1]),
    );
    const tbGap = $('table-gap').tBodies[0];
    tbGap.replaceChildren(
      ...s.gap.map((g) => el('tr', {}, el('td', {}, g.connection), el('td', {}, fmtTime(g.lastAt) + ' (il y a ' + g.minutesAgo + ' min)'))),
    );
    if (!tbGap.rows.length) tbGap.append(el('tr', {}, el('td', { colspan: 2, class: 'aide' }, 'Aucun message reçu.')));
    const tbB = $('table-disjoncteurs').tBodies[0];
    const label = { closed: 'fermé (normal)', open: 'OUVERT', 'half-open': 'essai en cours' };
    tbB.replaceChildren(
      ...s.breakers.map((b) =>
        el(
          'tr',
          {},
          el('td', {}, b.amc),
          el('td', { class: 'etat-' + b.state }, label[b.state] + (b.retryInS ? ' (nouvel essai dans ' + b.retryInS + ' s)' : '')),
          el('td', { class: 'n' }, b.failures),
        ),
      ),
    );
    if (!tbB.rows.length)
      tbB.append(el('tr', {}, el('td', { colspan: 3, class: 'aide' }, 'Tous fermés : aucun échec technique en cours.')));
    $('certificats').replaceChildren(
      ...(s.certificates.length
        ? s.certificates.map((c) =>
            el(
              'p',
              {},
              el('span', { class: 'decompte ' + c.level }, c.daysLeft + ' jours'),
              ' avant expiration (' + new Date(c.notAfter).toLocaleDateString('fr-FR') + ', ' + c.establishment + ')',
            ),
          )
        : [el('p', { class: 'aide' }, 'Aucun certificat configuré.')]),
    );
  }

  // ------------------------------------------------------------------ charts (uPlot, served from node_modules)
  const charts = {}; // id -> { plot, key }

  /** The width a chart may take in its box (the box's content width). */
  function widthOf(box) {
    return Math.max(240, Math.floor(box.clientWidth || box.parentElement.clientWidth || 480));
  }

  /**
   * Draws (or updates) a chart in `box`: rebuilt when its series change (a new service, an AMC),
   * else only its data is set (no flicker, the legend's state kept).
   */
  function plot(box, key, build, data) {
    const c = charts[box.id];
    if (c && c.key === key) {
      c.plot.setData(data);
      return;
    }
    if (c) c.plot.destroy();
    box.replaceChildren();
    const opts = build();
    opts.width = widthOf(box);
    charts[box.id] = { key, plot: new uPlot(opts, data, box) };
  }

  function emptyChart(box, text) {
    if (charts[box.id]) charts[box.id].plot.destroy();
    delete charts[box.id];
    box.replaceChildren(el('p', { class: 'aide' }, text));
  }

  window.addEventListener('resize', () => {
    for (const [id, c] of Object.entries(charts)) c.plot.setSize({ width: widthOf($(id)), height: c.plot.height });
  });

  const seconds = (points) => points.map((p) => Math.floor(new Date(p.t).getTime() / 1000));
  const hhmm = (sec) => new Date(sec * 1000).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
  const timeAxis = {
    stroke: '#5b6876',
    grid: { stroke: '#e3e8ed' },
    ticks: { stroke: '#e3e8ed' },
    values: (u, splits) => splits.map(hhmm),
  };
  /** Only the points of a minute alone between empty ones (a line joins the others). */
  const isolated = (u, si) => {
    const ys = u.data[si];
    const out = [];
    for (let i = 0; i < ys.length; i++) {
      if (ys[i] !== null && (i === 0 || ys[i - 1] === null) && (i === ys.length - 1 || ys[i + 1] === null)) out.push(i);
    }
    return out;
  };
  const valueAxis = (label) => ({
    label,
    labelSize: 16,
    stroke: '#5b6876',
    size: 48,
    grid: { stroke: '#e3e8ed' },
    ticks: { stroke: '#e3e8ed' },
  });
  const whole = (u, v) => (v === null || v === undefined ? '—' : String(Math.round(v)));

  /**
   * A time chart of one or more series per name (services, AMCs): `fields` are the point's fields
   * drawn for each name (count, or p50 and p95), the second one dashed.
   */
  function timeChart(box, byName, fields, unit) {
    const names = Object.keys(byName).sort();
    if (!names.length) return emptyChart(box, 'Aucun échange dans l’heure.');
    const xs = seconds(byName[names[0]].points);
    const series = [{ label: 'heure', value: (u, v) => (v === null || v === undefined ? '—' : hhmm(v)) }];
    const data = [xs];
    names.forEach((name, i) => {
      const color = COLORS[i % COLORS.length];
      fields.forEach((f, fi) => {
        series.push({
          label: fields.length > 1 ? name + ' ' + f : name,
          stroke: color,
          width: fi ? 1.5 : 2,
          dash: fi ? [5, 4] : undefined,
          spanGaps: false,
          points: { show: true, size: fi ? 5 : 6, fill: fi ? '#fff' : color, filter: isolated },
          value: whole,
        });
        data.push(byName[name].points.map((p) => (p[f] === undefined ? null : p[f])));
      });
    });
    plot(
      box,
      names.join('|') + '/' + fields.join(','),
      () => ({
        height: 220,
        series,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(unit === 'ms' ? 10 : 2, max * 1.1)] } },
        axes: [timeAxis, valueAxis(unit)],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      }),
      data,
    );
  }

  /** OK, KO and technical KO per minute, all services, stacked (the legend shows each count). */
  function outcomeChart(box, services) {
    const names = Object.keys(services);
    if (!names.length) return emptyChart(box, 'Aucun échange dans l’heure.');
    const xs = seconds(services[names[0]].points);
    const sum = (f) => xs.map((_, i) => names.reduce((acc, n) => acc + (services[n].points[i] ? services[n].points[i][f] : 0), 0));
    const ok = sum('ok');
    const ko = sum('ko');
    const tech = sum('technical');
    const raw = [null, tech, ko, ok];
    const stackedTech = xs.map((_, i) => ok[i] + ko[i] + tech[i]);
    const stackedKo = xs.map((_, i) => ok[i] + ko[i]);
    const shown = (u, v, si, i) => (i === null || i === undefined || raw[si] === null ? '—' : String(raw[si][i]));
    const bars = uPlot.paths.bars({ size: [0.8, 24], align: 0 });
    plot(
      box,
      'issues',
      () => ({
        height: 200,
        series: [
          { label: 'heure', value: (u, v) => (v === null || v === undefined ? '—' : hhmm(v)) },
          { label: 'KO technique', stroke: '#b3261e', fill: '#b3261e', paths: bars, points: { show: false }, value: shown },
          { label: 'KO', stroke: '#b86e00', fill: '#e9a23b', paths: bars, points: { show: false }, value: shown },
          { label: 'OK', stroke: '#1b7f3b', fill: '#3f9d5c', paths: bars, points: { show: false }, value: shown },
        ],
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(2, max * 1.1)] } },
        axes: [timeAxis, valueAxis('échanges/min')],
        cursor: { drag: { x: false, y: false } },
      }),
      [xs, stackedTech, stackedKo, ok],
    );
  }

  /** Dossiers by state: one bar per state, its count written above it. */
  function dossierChart(box, entries) {
    if (!entries.length) return emptyChart(box, 'Aucun dossier.');
    const names = entries.map((e) => e[0]);
    const counts = entries.map((e) => e[1]);
    plot(
      box,
      'dossiers/' + names.join('|'),
      () => ({
        height: 240,
        // room on the right for the last state's rotated name
        padding: [16, 36, 0, 0],
        series: [
          { label: 'état', value: (u, v) => (v === null || v === undefined ? '—' : names[v] || '') },
          {
            label: 'dossiers',
            stroke: '#1f5fa8',
            fill: '#5b8fd0',
            paths: uPlot.paths.bars({ size: [0.6, 60] }),
            points: { show: false },
            value: whole,
          },
        ],
        scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(2, max * 1.15)] } },
        axes: [
          {
            stroke: '#1d2733',
            grid: { show: false },
            ticks: { show: false },
            splits: () => names.map((_, i) => i),
            values: (u, splits) => splits.map((i) => names[i] || ''),
            rotate: names.length > 4 ? -30 : 0,
            size: names.length > 4 ? 80 : 40,
            font: '11px system-ui, sans-serif',
          },
          valueAxis('dossiers'),
        ],
        legend: { show: false },
        cursor: { show: false },
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.fillStyle = '#1d2733';
              ctx.font = Math.round(11 * devicePixelRatio) + 'px system-ui, sans-serif';
              ctx.textAlign = 'center';
              u.data[1].forEach((v, i) => {
                if (v === null) return;
                ctx.fillText(String(v), u.valToPos(i, 'x', true), u.valToPos(v, 'y', true) - 4 * devicePixelRatio);
              });
              ctx.restore();
            },
          ],
        },
      }),
      [names.map((_, i) => i), counts],
    );
    box.setAttribute('data-dossiers', entries.map((e) => e[0] + '=' + e[1]).join(' '));
  }

  // ------------------------------------------------------------------ messages
  $('form-recherche').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search(false);
  });
  $('suivants').addEventListener('click', () => search(true));

  async function search(more) {
    const form = new FormData($('form-recherche'));
    const q = new URLSearchParams();
    for (const [k, v] of form) if (String(v).trim()) q.set(k, String(v).trim());
    q.set('limit', '50');
    if (!more) lastQuery = q.toString();
    const query = new URLSearchParams(lastQuery);
    if (more && nextCursor) query.set('after', nextCursor);
    $('recherche-etat').textContent = 'Recherche…';
    try {
      const page = await api('messages?' + query.toString());
      const tb = $('table-messages').tBodies[0];
      if (!more) tb.replaceChildren();
      for (const m of page.items) {
        tb.append(
          el(
            'tr',
            { 'data-id': m.id, onclick: () => open(m.id) },
            el('td', { class: 'n' }, m.id),
            el('td', {}, fmtTime(m.receivedAt)),
            el('td', {}, m.event || '—'),
            el('td', {}, m.venue || '—'),
            el('td', {}, m.sender || m.channel),
            el('td', {}, m.controlId || '—'),
            el('td', { class: 'etat-' + m.state }, m.state + (m.resendOf ? ' (renvoi de ' + m.resendOf + ')' : '')),
            el('td', {}, m.lastError || ''),
          ),
        );
      }
      nextCursor = page.next || null;
      $('suivants').hidden = !nextCursor;
      $('recherche-etat').textContent =
        tb.rows.length +
        ' message(s)' +
        (page.scanned !== undefined ? ' — ' + page.scanned + ' lus' : '') +
        (page.partial ? ' — limite de lecture atteinte, « Messages plus anciens » continue' : '');
    } catch (e) {
      $('recherche-etat').textContent = e.message;
    }
  }

  async function open(id, unmask, keepStatus) {
    if (!keepStatus) $('action-etat').textContent = '';
    try {
      const d = await api('messages/' + id + (unmask ? '?unmask=1' : ''));
      current = d;
      for (const tr of $('table-messages').tBodies[0].rows) tr.classList.toggle('choisi', tr.getAttribute('data-id') === String(id));
      $('detail').hidden = false;
      $('detail-titre').textContent =
        'Message ' +
        d.message.id +
        ' — ' +
        (d.message.event || '?') +
        ' — ' +
        d.message.state +
        (d.masque ? ' (données patient masquées)' : ' (DÉMASQUÉ)');
      $('detail-brut').textContent = d.raw ? d.raw.split('\r').join('\n') : '(effacé par la rétention)';
      $('detail-admission').textContent = d.admission ? JSON.stringify(d.admission, null, 2) : '(illisible)';
      const dos = $('detail-dossier');
      dos.replaceChildren();
      if (d.dossier) {
        dos.append(
          el(
            'p',
            {},
            'Dossier ',
            el('strong', {}, d.dossier.cle),
            ' : ',
            d.dossier.libelle,
            d.dossier.numeroAmc ? ' — AMC ' + d.dossier.numeroAmc : '',
          ),
        );
        // one "ask again" button per service, on its latest exchange
        const lastOf = {};
        for (const c of d.dossier.chronologie) if (c.kind === 'ECHANGE' && c.service) lastOf[c.service] = c;
        const attente = Object.entries(d.dossier.enCours || {});
        if (attente.length)
          dos.append(
            el(
              'p',
              { class: 'en-attente' },
              'Réponse attendue : ',
              ...attente.map(([service]) =>
                el(
                  'button',
                  {
                    type: 'button',
                    'data-etape': 'service-' + service,
                    title: 'La même requête est renvoyée à l’AMC (même identifiant) : elle n’y répond qu’une fois.',
                    onclick: () => resendStage('service', { service }),
                  },
                  'Redemander ' + service.toUpperCase() + ' (même requête)',
                ),
              ),
            ),
          );
        dos.append(
          table(
            ['Quand', 'Quoi', ''],
            d.dossier.chronologie.map((c) => [
              fmtTime(c.at),
              c.texte,
              c.kind === 'ECHANGE' && c.service && !(d.dossier.enCours || {})[c.service] && lastOf[c.service] === c
                ? el(
                    'button',
                    {
                      type: 'button',
                      class: 'secondaire',
                      'data-etape': 'service-' + c.service,
                      title: 'Le dossier redemande ce service à l’AMC (nouvelle requête).',
                      onclick: () => resendStage('service', { service: c.service }),
                    },
                    'Redemander ' + String(c.service).toUpperCase(),
                  )
                : null,
            ]),
          ),
        );
      } else dos.append(el('p', { class: 'aide' }, 'Pas de dossier pour ce message.'));
      if (d.exchanges.length)
        dos.append(
          el('h3', {}, 'Échanges notés par l’intégration'),
          el(
            'ul',
            {},
            ...d.exchanges.map((x) => el('li', {}, [x.service, x.outcome, x.detail || '', x.engagement || ''].join(' ').trim())),
          ),
        );
      const rep = $('detail-reponses');
      rep.replaceChildren(
        d.answers.length
          ? table(
              ['N°', 'ZRC', 'État', 'Envoyée', 'Acquittée', ''],
              d.answers.map((a) => [
                a.id,
                a.zrc || '',
                a.state + (a.lastError ? ' — ' + a.lastError : ''),
                fmtTime(a.sentAt),
                fmtTime(a.ackedAt),
                el(
                  'td',
                  {},
                  a.state === 'ERROR' || a.state === 'ACKED' || a.state === 'CANCELLED'
                    ? el(
                        'button',
                        { type: 'button', 'data-etape': 'answer-' + a.id, onclick: () => resendStage('answer', { answer: a.id }) },
                        'Renvoyer au GAP',
                      )
                    : null,
                  a.state === 'ERROR' || a.state === 'QUEUED'
                    ? el('button', { type: 'button', class: 'secondaire', onclick: () => answerAction(a, 'cancel') }, 'Annuler')
                    : null,
                ),
              ]),
            )
          : el('p', { class: 'aide' }, 'Aucune réponse envoyée au GAP pour ce message.'),
      );
      if (d.resends.length) rep.append(el('p', {}, 'Renvoyé au traitement : message(s) ' + d.resends.join(', ')));
      const euros = (c) => (c === undefined ? '—' : (c / 100).toLocaleString('fr-FR', { style: 'currency', currency: 'EUR' }));
      const fac = d.billing || [];
      $('detail-facturation').replaceChildren(
        fac.length
          ? table(
              ['Facture', 'État', 'Part AMC', 'Fichier / lot', 'Envoyé / ARL / retour', 'Payé'],
              fac.map((b) => [
                el('td', {}, b.number, b.engagement ? el('br') : null, b.engagement ? el('span', { class: 'aide' }, b.engagement) : null),
                b.state +
                  (b.reason ? ' — ' + b.reason : '') +
                  (b.rejection ? ' — rejet ' + b.rejection.code + ' ' + b.rejection.label : ''),
                el('td', { class: 'n' }, euros(b.amcCents)),
                b.fileNumber ? b.fileNumber + ' / ' + (b.lotNumber || '—') : '—',
                [b.sentAt, b.acknowledgedAt, b.settledAt].map((x) => x || '—').join(' / '),
                el('td', { class: 'n' }, euros(b.paidCents)),
              ]),
            )
          : el('p', { class: 'aide' }, 'Aucune facture de ce dossier transmise à l’AMC.'),
      );
    } catch (e) {
      $('action-etat').textContent = e.message;
    }
  }

  /** "Resend from this stage": the admission into the dossier engine, a service asked again, an answer to the GAP. */
  async function resendStage(stage, extra) {
    if (!current) return;
    const q = new URLSearchParams({ stage, ...extra });
    try {
      const r = await api('messages/' + current.message.id + '/resend?' + q.toString(), { method: 'POST' });
      const what =
        stage === 'admission'
          ? 'admission rejouée dans le dossier ' + r.dossier
          : stage === 'service'
            ? r.service.toUpperCase() +
              ' redemandé (' +
              (r.memeRequete ? 'même requête' : 'nouvelle requête') +
              ') pour le dossier ' +
              r.dossier
            : 'réponse ' + r.answer + ' renvoyée au GAP (' + (r.id === r.answer ? 'remise en file' : 'copie ' + r.id) + ')';
      $('action-etat').textContent = 'Renvoyé depuis l’étape : ' + what + '.';
      setTimeout(() => current && current.message.id === r.resent && open(r.resent, false, true), 1500);
    } catch (e) {
      $('action-etat').textContent = 'Refusé : ' + e.message;
    }
  }
  $('renvoyer-admission').addEventListener('click', () => resendStage('admission', {}));

  $('renvoyer').addEventListener('click', async () => {
    if (!current) return;
    try {
      const r = await api('messages/' + current.message.id + '/resend', { method: 'POST' });
      await search(false);
      $('action-etat').textContent = 'Renvoyé : nouveau message ' + r.id + ' (' + r.state + ').';
    } catch (e) {
      $('action-etat').textContent = 'Refusé : ' + e.message;
    }
  });
  $('demasquer').addEventListener('click', () => current && open(current.message.id, true));

  if (token) start();
  else showLogin();
})();
