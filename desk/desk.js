/*
 * Admission desk page (desk/index.html), served by flows/roc-bridge.json at GET /desk.
 * Plain browser JavaScript, no build step, no external resource.
 *
 * The clerk scans the attestation's DataMatrix into #scan (the hand scanner types, then Enter) or
 * drops a photo; the page POSTs it with the patient and stay to desk/scan and shows the verdict.
 * Every answer puts the cursor back in #scan. Nothing is stored in the browser.
 */
/* global document, fetch, AbortController, FormData, setTimeout, clearTimeout */
(function () {
  'use strict';

  var GS = '\u001d';
  var TIMEOUT_MS = 30000;
  var $ = function (id) {
    return document.getElementById(id);
  };

  var scan = $('scan');
  var image = $('image');
  var depot = $('depot');
  var resultat = $('resultat');
  var annonce = $('annonce');
  var details = $('details');
  var demoSelect = $('demo');
  var demoPatients = [];
  var sequence = 0;
  var reponses = 0; // answers shown so far (data-reponse: lets a test or a screen reader tell a new answer)

  var DOMAINES = {
    HOSPITALISATION: 'hospitalisation',
    ACE: 'consultations et actes externes',
    FORFAIT_JOURNALIER: 'forfait journalier',
    CHAMBRE_PARTICULIERE: 'chambre particulière',
    ACCOMPAGNANT: 'lit d’accompagnant',
  };
  var PRESTATIONS = {
    GHS: 'Séjour (GHS)',
    FJ: 'Forfait journalier',
    CP: 'Chambre particulière',
    ACC: 'Accompagnant',
    ACE: 'Actes externes',
  };
  var BADGES = { OK: 'OK', KO: 'KO', LECTURE: '!', SAISIE: '!', TECHNIQUE: '!', EN_COURS: '…', ATTENTE: '…' };

  // ---- formatting -------------------------------------------------------------------------------
  function dateFr(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
    return m ? m[3] + '/' + m[2] + '/' + m[1] : '';
  }
  var euroFmt = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' });
  function euros(n) {
    return typeof n === 'number' && isFinite(n) ? euroFmt.format(n) : '—';
  }
  function periode(p) {
    if (!p) return '';
    if (p.debut && p.fin) return 'du ' + dateFr(p.debut) + ' au ' + dateFr(p.fin);
    if (p.debut) return 'depuis le ' + dateFr(p.debut);
    return p.fin ? 'jusqu’au ' + dateFr(p.fin) : '';
  }
  function isoToday(offsetDays) {
    var d = new Date();
    d.setDate(d.getDate() + (offsetDays || 0));
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  }

  // ---- DOM helpers (textContent only: nothing from the server is parsed as HTML) ----------------
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
      });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function fiche(rows) {
    var dl = el('dl', { class: 'fiche' });
    rows.forEach(function (r) {
      if (!r || r[1] === undefined || r[1] === null || r[1] === '') return;
      dl.appendChild(el('dt', null, [r[0]]));
      dl.appendChild(el('dd', r[2] ? { 'data-champ': r[2] } : null, [String(r[1])]));
    });
    return dl.childNodes.length ? dl : null;
  }

  /** Shows a verdict; `corps` are the detail blocks below it. */
  function afficher(verdict, titre, motif, conseil, corps) {
    resultat.setAttribute('data-verdict', verdict);
    resultat.setAttribute('aria-busy', verdict === 'EN_COURS' ? 'true' : 'false');
    if (verdict !== 'EN_COURS') resultat.setAttribute('data-reponse', String(++reponses));
    annonce.replaceChildren(
      el('div', { class: 'verdict' }, [
        el('span', { class: 'verdict-badge', 'aria-hidden': 'true' }, [BADGES[verdict] || '!']),
        el('div', null, [
          el('p', { class: 'verdict-titre' }, [titre]),
          motif ? el('p', { class: 'motif' }, [motif]) : null,
          conseil ? el('p', { class: 'conseil' }, [conseil]) : null,
        ]),
      ]),
    );
    details.replaceChildren.apply(details, (corps || []).filter(Boolean));
  }

  function devisBloc(devis) {
    if (!devis) return null;
    var bloc = el('section', { class: 'devis', 'aria-label': 'Devis du reste à charge' }, [
      el('h3', null, ['Devis du reste à charge (simulation AMC)']),
    ]);
    if (devis.status !== 'OK') {
      bloc.appendChild(el('p', { class: 'motif' }, ['Devis impossible : ' + (devis.motif || 'refusé par l’AMC.')]));
      return bloc;
    }
    var corps = el('tbody');
    (devis.lignes || []).forEach(function (l) {
      var montant = typeof l.quantite === 'number' && typeof l.prixUnitaire === 'number' ? l.quantite * l.prixUnitaire : undefined;
      corps.appendChild(
        el('tr', null, [
          el('td', null, [(PRESTATIONS[l.code] || l.code) + (l.quantite > 1 ? ' × ' + l.quantite : '')]),
          el('td', null, [euros(montant)]),
          el('td', null, [euros(l.montantAmo)]),
          el('td', null, [euros(l.montantAmc)]),
          el('td', null, [euros(l.montantPatient)]),
        ]),
      );
    });
    var m = devis.montants || {};
    bloc.appendChild(
      el('table', null, [
        el('thead', null, [
          el(
            'tr',
            null,
            ['Prestation', 'Montant', 'Assurance maladie', 'Complémentaire', 'Patient'].map(function (h) {
              return el('th', { scope: 'col' }, [h]);
            }),
          ),
        ]),
        corps,
        el('tfoot', null, [
          el('tr', null, [
            el('td', null, ['Total']),
            el('td', null, [euros(m.totalFacture)]),
            el('td', null, [euros(m.totalAmo)]),
            el('td', null, [euros(m.totalAmc)]),
            el('td', null, [euros(m.resteACharge)]),
          ]),
        ]),
      ]),
    );
    bloc.appendChild(el('p', { class: 'reste', 'data-champ': 'reste' }, ['Reste à charge du patient : ' + euros(m.resteACharge)]));
    return bloc;
  }

  function afficherReponse(r) {
    var g = r.guichet || {};
    var amc = r.amc || {};
    var att = r.attestation || {};
    var droits = r.droits;
    var corps = [];
    var nomAmc = amc.nom ? amc.nom + ' (n° ' + amc.numeroAmc + ')' : amc.numeroAmc ? 'n° ' + amc.numeroAmc : undefined;
    corps.push(
      fiche([
        ['Complémentaire (AMC)', nomAmc, 'amc'],
        ['Convention', amc.typeConvention ? amc.typeConvention + (amc.csr ? ' · critère de routage ' + amc.csr : '') : undefined],
        ['Gestionnaire', amc.operateur],
        [
          'Attestation',
          att.debutValidite ? 'valable ' + periode({ debut: att.debutValidite, fin: att.finValidite }) : undefined,
          'attestation',
        ],
        ['Contrat', droits && droits.numeroContrat],
        ['Droits ouverts', droits && droits.periodes.length ? droits.periodes.map(periode).join(' ; ') : undefined, 'periodes'],
        [
          'Garanties',
          droits && droits.domaines.length
            ? droits.domaines
                .map(function (d) {
                  return DOMAINES[d] || d.toLowerCase();
                })
                .join(', ')
            : undefined,
        ],
        [
          'Réponse valable jusqu’au',
          droits && droits.dateValidite ? dateFr(droits.dateValidite) + ' (interroger à nouveau ensuite)' : undefined,
        ],
        ['Code', g.verdict !== 'OK' ? g.code : undefined, 'code'],
      ]),
    );
    var notes = [];
    ((droits && droits.consignes) || []).forEach(function (c) {
      notes.push('Consigne de l’AMC : ' + c.libelle);
    });
    (att.avertissements || []).forEach(function (m) {
      notes.push(m);
    });
    (att.corrections || []).forEach(function (m) {
      notes.push('Lecteur : ' + m);
    });
    if (notes.length)
      corps.push(
        el(
          'ul',
          { class: 'notes' },
          notes.map(function (n) {
            return el('li', null, [n]);
          }),
        ),
      );
    corps.push(devisBloc(r.devis));
    if (typeof g.dureeMs === 'number') {
      var source = g.source === 'image' ? 'lu sur la photo' : g.source === 'texte' ? 'lu par la douchette' : '';
      corps.push(
        el('p', { class: 'duree' }, [
          'Réponse en ' + (g.dureeMs / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 2 }) + ' s' + (source ? ' · ' + source : ''),
        ]),
      );
    }
    afficher(g.verdict || 'TECHNIQUE', g.titre || 'Réponse inattendue', g.motif, g.conseil, corps);
  }

  // ---- the request ------------------------------------------------------------------------------
  function val(id) {
    return $(id).value.trim();
  }
  function demande() {
    return {
      patient: {
        nir: val('nir'),
        cleNir: val('cleNir'),
        dateNaissance: val('dateNaissance'),
        rangNaissance: val('rangNaissance'),
        nom: val('nom'),
        prenom: val('prenom'),
      },
      sejour: { type: val('type'), dateEntree: val('dateEntree'), dateSortie: val('dateSortie'), numeroDossier: val('numeroDossier') },
      devis: { demande: $('devis').checked, ghs: val('ghs'), nuits: val('nuits'), chambreParticuliere: $('chambreParticuliere').checked },
    };
  }

  function envoyer(body, headers, source) {
    var n = ++sequence;
    afficher(
      'EN_COURS',
      source === 'image' ? 'Lecture de la photo…' : 'Vérification des droits…',
      'Interrogation de la complémentaire en cours.',
    );
    var ctrl = new AbortController();
    var timer = setTimeout(function () {
      ctrl.abort();
    }, TIMEOUT_MS);
    var opts = { method: 'POST', body: body, signal: ctrl.signal, credentials: 'same-origin', cache: 'no-store' };
    if (headers) opts.headers = headers;
    fetch('desk/scan', opts)
      .then(function (res) {
        return res.text().then(function (text) {
          var json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          if (!json || !json.guichet) throw new Error('HTTP ' + res.status);
          return json;
        });
      })
      .then(function (json) {
        if (n === sequence) afficherReponse(json);
      })
      .catch(function (err) {
        if (n !== sequence) return;
        if (err && err.name === 'AbortError') {
          afficher(
            'TECHNIQUE',
            'Pas de réponse',
            'Le pont ROC n’a pas répondu dans les ' + TIMEOUT_MS / 1000 + ' secondes.',
            'L’admission n’est pas bloquée : enregistrez-la et réessayez plus tard.',
          );
        } else if (err && /^HTTP /.test(err.message)) {
          afficher(
            'TECHNIQUE',
            'Réponse inattendue',
            'Le pont ROC a répondu de façon inattendue (' + err.message + ').',
            'Réessayez ; signalez-le au support si cela se reproduit.',
          );
        } else {
          afficher(
            'TECHNIQUE',
            'Pont ROC injoignable',
            'La page n’a pas pu joindre le pont ROC (réseau ou service arrêté).',
            'L’admission n’est pas bloquée : réessayez dans un instant.',
          );
        }
      })
      .then(function () {
        clearTimeout(timer);
        if (n === sequence) {
          scan.value = '';
          scan.focus();
        }
      });
  }

  function envoyerScan(texte) {
    var d = demande();
    d.scan = texte;
    envoyer(JSON.stringify(d), { 'Content-Type': 'application/json' }, 'texte');
  }

  function envoyerImage(fichier) {
    var form = new FormData();
    form.append('demande', JSON.stringify(demande()));
    form.append('image', fichier, fichier.name || 'attestation');
    envoyer(form, null, 'image');
  }

  // ---- the scan field ---------------------------------------------------------------------------
  $('form-scan').addEventListener('submit', function (e) {
    e.preventDefault();
    envoyerScan(scan.value);
  });
  scan.addEventListener('keydown', function (e) {
    // Scanners in keyboard mode send the GS separator (FNC1) as Ctrl+] : keep it as the character.
    if (e.ctrlKey && !e.altKey && (e.code === 'BracketRight' || e.key === ']' || e.key === 'GroupSeparator')) {
      e.preventDefault();
      var s = scan.selectionStart != null ? scan.selectionStart : scan.value.length;
      var f = scan.selectionEnd != null ? scan.selectionEnd : s;
      scan.value = scan.value.slice(0, s) + GS + scan.value.slice(f);
      scan.setSelectionRange(s + 1, s + 1);
    }
  });
  image.addEventListener('change', function () {
    if (image.files && image.files[0]) envoyerImage(image.files[0]);
    image.value = '';
  });
  ['dragenter', 'dragover'].forEach(function (t) {
    document.addEventListener(t, function (e) {
      e.preventDefault();
      depot.classList.add('survol');
    });
  });
  ['dragleave', 'dragend'].forEach(function (t) {
    document.addEventListener(t, function (e) {
      if (!e.relatedTarget) depot.classList.remove('survol');
    });
  });
  document.addEventListener('drop', function (e) {
    e.preventDefault();
    depot.classList.remove('survol');
    var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) envoyerImage(f);
  });
  // Enter in a patient field goes to the scan field instead of submitting anything.
  $('form-patient').addEventListener('submit', function (e) {
    e.preventDefault();
    scan.focus();
  });

  // ---- demo patients (only when the runtime uses the embedded AMC simulator) ---------------------
  function remplir(p) {
    $('nir').value = p.nir || '';
    $('cleNir').value = p.cleNir || '';
    $('dateNaissance').value = p.dateNaissance || '';
    $('rangNaissance').value = p.rangNaissance || 1;
    $('nom').value = p.nom || '';
    $('prenom').value = p.prenom || '';
    $('type').value = 'HOSPITALISATION';
    $('dateEntree').value = isoToday(0);
    $('dateSortie').value = isoToday(4);
    $('numeroDossier').value = 'NDA-DEMO-' + p.id;
    $('ghs').value = '3452,40';
    $('nuits').value = '';
  }
  demoSelect.addEventListener('change', function () {
    var p = demoPatients.filter(function (x) {
      return x.id === demoSelect.value;
    })[0];
    if (p) remplir(p);
    $('demo-aide').textContent = p
      ? 'Scénario : ' + (p.description || p.scenario)
      : 'Remplit le patient et le séjour avec un bénéficiaire fictif du simulateur et son scénario.';
  });
  fetch('desk/demo', { cache: 'no-store' })
    .then(function (r) {
      return r.ok ? r.json() : { demo: false };
    })
    .then(function (d) {
      if (!d || !d.demo || !Array.isArray(d.patients)) return;
      demoPatients = d.patients;
      d.patients.forEach(function (p) {
        var label = p.id + ' · ' + p.nom + ' ' + p.prenom + ' — ' + (p.description || p.scenario);
        demoSelect.appendChild(el('option', { value: p.id }, [label.length > 110 ? label.slice(0, 108) + '…' : label]));
      });
      $('bloc-demo').hidden = false;
      $('demo-bandeau').hidden = false;
      document.body.classList.add('demo');
    })
    .catch(function () {
      /* no demo list: the page works without it */
    });

  if (!$('dateEntree').value) $('dateEntree').value = isoToday(0);
  scan.focus();
})();
