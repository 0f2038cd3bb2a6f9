import { codec } from '../../lib/sel/codec';
import { PROFILE } from '../../lib/sel/profile';
import { SOAP11_NS, SOAP12_NS, SoapError, buildFault } from '../../lib/sel/soap';

const enTete = {
  requestId: '3f2b8c1e-5d4a-4e8b-9c71-2a6d0e4f9b13',
  horodatage: '2026-03-02T08:41:07.512Z',
  versionProfil: PROFILE.version,
  finessJuridique: '750712184',
  finessGeographique: '750100042',
  logiciel: 'GAP Hexagone',
  versionLogiciel: '12.4.1',
  amc: { numeroAmc: '0775685365', typeConvention: 'MU', csr: 'RAIL' },
};
const enTeteReponse = { requestId: enTete.requestId, responseId: 'REP-000451', horodatage: '2026-03-02T08:41:07Z' };
const beneficiaire = {
  nir: '2850375123456',
  cleNir: '42',
  dateNaissance: '1985-03-14',
  rangNaissance: 1,
  nom: 'Lefèvre-Dubois',
  prenom: 'Marie-Hélène',
  numeroAdherent: '00457812',
};
const venue = {
  type: 'HOSPITALISATION',
  dateEntree: '2026-03-02',
  dateSortie: '2026-03-06',
  numeroDossier: 'NDA26004512',
  numeroVenue: 'V0001',
};
const facture = {
  numero: 'FAC-2026-000871',
  dateFacture: '2026-03-07',
  lignes: [
    {
      numero: 1,
      code: 'FJ',
      dateDebut: '2026-03-02',
      dateFin: '2026-03-06',
      quantite: 4,
      prixUnitaire: 20,
      baseAmo: 0,
      tauxAmo: 0,
      montantAmo: 0,
    },
    {
      numero: 2,
      code: 'GHS',
      dateDebut: '2026-03-02',
      quantite: 1,
      prixUnitaire: 3120.45,
      baseAmo: 3120.45,
      tauxAmo: 80,
      montantAmo: 2496.36,
    },
  ],
};

const requests = {
  annuaire: { enTete },
  idb: {
    enTete,
    beneficiaire,
    assureAmo: { regime: '01', caisse: '751', centre: '0001' },
    attestation: { numeroAmc: '0775685365', typesConvention: ['MU', 'SP'], debutValidite: '2026-01-01' },
    venue,
  },
  sim: { enTete, beneficiaire, venue, facture },
  clc: { enTete, beneficiaire, venue, facture },
  del: { enTete, numeroEngagement: 'ENG-0775685365-000123', numeroFacture: 'FAC-2026-000871', motif: 'Séjour annulé' },
};
const lignesReponse = [
  { numero: 1, code: 'FJ', montantAmc: 80, montantPatient: 0 },
  { numero: 2, code: 'GHS', montantAmc: 624.09, montantPatient: 0 },
];
const responses = {
  annuaire: {
    enTete: enTeteReponse,
    statut: 'OK',
    messages: [{ code: '0000', groupe: 'OK', severite: 'INFO', libelle: 'Traitement effectué' }],
    amc: { numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', operateur: 'Tiers Payant Sud Opérateur', enRoc: true },
    services: [
      { service: 'idb', url: 'https://amc.example/idb' },
      { service: 'clc', url: 'https://amc.example/clc' },
    ],
    dureeValidite: 3600,
  },
  idb: {
    enTete: enTeteReponse,
    statut: 'OK',
    messages: [],
    couverture: {
      numeroContrat: 'CT-2026-004512',
      periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }],
      domaines: ['HOSPITALISATION', 'CHAMBRE_PARTICULIERE'],
    },
    consignes: [{ code: 'C01', libelle: 'Chambre particulière : 60 € par jour' }],
    dateValidite: '2026-04-01',
  },
  sim: {
    enTete: enTeteReponse,
    statut: 'OK',
    messages: [],
    montants: { totalFacture: 3200.45, totalAmo: 2496.36, totalAmc: 704.09, resteACharge: 0 },
    lignes: lignesReponse,
    consignes: [],
  },
  clc: {
    enTete: enTeteReponse,
    statut: 'OK',
    messages: [],
    montants: { totalFacture: 3200.45, totalAmo: 2496.36, totalAmc: 704.09, resteACharge: 0 },
    lignes: lignesReponse,
    consignes: [],
    numeroEngagement: 'ENG-0775685365-000123',
    dateValiditeEngagement: '2026-06-01',
  },
  del: {
    enTete: enTeteReponse,
    statut: 'OK',
    messages: [{ code: '0000', libelle: 'Engagement annulé' }],
    numeroEngagement: 'ENG-0775685365-000123',
  },
};

const ops = ['annuaire', 'idb', 'sim', 'clc', 'del'] as const;

function soapError(fn: () => unknown): SoapError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SoapError);
    return err as SoapError;
  }
  throw new Error('expected a SoapError');
}

describe('codec round trip', () => {
  it.each(ops)('request of %s decodes to what was encoded', (op) => {
    const xml = codec.encodeRequest(op, requests[op]);
    expect(xml).toContain(`xmlns:soap="${SOAP12_NS}"`);
    const back = codec.decodeRequest(xml);
    expect(back.op).toBe(op);
    expect(back.payload).toMatchObject(requests[op]);
  });

  it.each(ops)('response of %s decodes to what was encoded', (op) => {
    const xml = codec.encodeResponse(op, responses[op]);
    expect(codec.decodeResponse(op, xml)).toMatchObject(responses[op]);
  });

  it('escapes & < > and quotes in names and decodes them back', () => {
    const names = { ...beneficiaire, nom: "D'Artagnan & Fils <Ltd>", prenom: 'Éloïse "Lou"' };
    const xml = codec.encodeRequest('idb', { ...requests.idb, beneficiaire: names });
    expect(xml).not.toContain('& Fils');
    expect(xml).toContain('D&apos;Artagnan &amp; Fils &lt;Ltd&gt;');
    expect((codec.decodeRequest(xml).payload.beneficiaire as Record<string, unknown>).nom).toBe("D'Artagnan & Fils <Ltd>");
  });

  it('decodes numeric character references (&#233; &#xE9;) sent by other SOAP stacks', () => {
    const xml = codec
      .encodeRequest('idb', requests.idb)
      .replace('Lefèvre-Dubois', 'Lef&#232;vre-Dubois &#xC9;')
      .replace('Marie-Hélène', 'Marie-H&#xe9;l&#232;ne');
    const b = codec.decodeRequest(xml).payload.beneficiaire as Record<string, unknown>;
    expect(b.nom).toBe('Lefèvre-Dubois É');
    expect(b.prenom).toBe('Marie-Hélène');
  });

  it('writes amounts with two decimals and keeps leading zeros of identifiers', () => {
    const xml = codec.encodeRequest('sim', requests.sim);
    expect(xml).toContain('<roc:PrixUnitaire>3120.45</roc:PrixUnitaire>');
    expect(xml).toContain('<roc:Quantite>4.00</roc:Quantite>');
    expect(xml).toContain('<roc:NumeroAdherent>00457812</roc:NumeroAdherent>');
  });

  it('refuses to encode a request missing a mandatory element, naming it', () => {
    const e = soapError(() => codec.encodeRequest('idb', { enTete, venue }));
    expect(e.message).toContain('PatientBeneficiaire');
  });
});

describe('codec against hostile XML', () => {
  const good = codec.encodeResponse('idb', responses.idb);

  it('refuses a DOCTYPE with entity declarations (billion laughs) without expanding it', () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
      good.replace('<?xml version="1.0" encoding="UTF-8"?>', '').replace('Chambre particulière', '&lol3;');
    expect(soapError(() => codec.decodeResponse('idb', lol)).kind).toBe('dtd');
  });

  it('refuses an external entity (XXE)', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    expect(soapError(() => codec.decodeResponse('idb', xxe)).kind).toBe('dtd');
  });

  it('reports truncated XML as malformed', () => {
    const e = soapError(() => codec.decodeResponse('idb', good.slice(0, Math.floor(good.length * 0.6))));
    expect(e.kind).toBe('malformed');
  });

  it('refuses a body element in another namespace', () => {
    const wrong = good.replace(/urn:roc-bridge:profile:sel:1\.0/g, 'urn:autre-editeur:roc:2.0');
    expect(soapError(() => codec.decodeResponse('idb', wrong)).kind).toBe('namespace');
  });

  it('refuses a SOAP 1.1 envelope', () => {
    const e = soapError(() => codec.decodeResponse('idb', good.replace(SOAP12_NS, SOAP11_NS)));
    expect(e.kind).toBe('namespace');
    expect(e.message).toContain('SOAP 1.1');
  });

  it('refuses a document above the size limit before parsing it', () => {
    const e = soapError(() => codec.decodeResponse('idb', good, 100));
    expect(e.kind).toBe('too-large');
  });

  it('refuses an unexpected value in an enumerated or typed element', () => {
    expect(
      soapError(() => codec.decodeResponse('idb', good.replace('<roc:Statut>OK</roc:Statut>', '<roc:Statut>PEUT-ETRE</roc:Statut>'))).kind,
    ).toBe('unexpected');
    const sim = codec
      .encodeResponse('sim', responses.sim)
      .replace('<roc:TotalAMC>704.09</roc:TotalAMC>', '<roc:TotalAMC>sept cents</roc:TotalAMC>');
    const e = soapError(() => codec.decodeResponse('sim', sim));
    expect(e.message).toContain('TotalAMC');
  });

  it('refuses the answer of another operation', () => {
    expect(soapError(() => codec.decodeResponse('clc', good)).kind).toBe('unexpected');
  });

  it('surfaces a SOAP Fault with its code and reason', () => {
    const e = soapError(() => codec.decodeResponse('idb', buildFault('Receiver', 'Base des contrats indisponible', 'roc:Indisponible')));
    expect(e.kind).toBe('fault');
    expect(e.fault).toEqual({ code: 'soap:Receiver', subcode: 'roc:Indisponible', reason: 'Base des contrats indisponible' });
  });

  it.each([
    ['mismatched tags', '<a><b>1</c></a>'],
    ['an unclosed root', '<a><b>1</b>'],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>reste'],
    ["a bare '&'", '<a>Dupont & Fils</a>'],
    ["a bare '<'", '<a>1 < 2</a>'],
    ['an HTML entity', '<a>&nbsp;</a>'],
    ['an entity named like an object property', '<a>&constructor;</a>'],
    ['a control character', '<a>x\u0001y</a>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['a repeated attribute', '<a x="1" x="2"/>'],
    ["'<' in an attribute", '<a x="<"/>'],
    ['an unclosed comment', '<a><!-- commentaire </a>'],
    ['a character reference out of range', '<a>&#x110000;</a>'],
  ])('refuses %s as malformed', (_what, xml) => {
    expect(soapError(() => codec.decodeResponse('idb', xml)).kind).toBe('malformed');
  });

  it('reports where a document breaks', () => {
    const e = soapError(() => codec.decodeResponse('idb', '<?xml version="1.0"?>\n<a>\n  <b>1</c>\n</a>'));
    expect(e.message).toBe('malformed XML at line 3, column 7: closing tag </c> does not match <b>');
  });

  it('never fails other than with a SoapError, whatever prefix of an answer arrives', () => {
    const xml = codec.encodeResponse('clc', responses.clc);
    for (let n = 0; n < xml.length; n++) {
      let err: unknown;
      try {
        codec.decodeResponse('clc', xml.slice(0, n));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SoapError);
    }
  });

  it('reads CDATA, comments, single-quoted attributes, a BOM and a tag named __proto__ as plain XML', () => {
    const xml =
      '\ufeff<?xml version="1.0" encoding="UTF-8"?><!-- AMC -->' +
      `<env:Envelope xmlns:env='${SOAP12_NS}'><env:Body><r:DelReponse xmlns:r="urn:roc-bridge:profile:sel:1.0">` +
      '<r:EnTeteReponse><r:IdRequete><![CDATA[id<1>&]]></r:IdRequete><__proto__>x</__proto__></r:EnTeteReponse>' +
      '<r:Statut>OK</r:Statut><!-- fin --><r:NumeroEngagement>ENG-&#48;1</r:NumeroEngagement></r:DelReponse></env:Body></env:Envelope>';
    let decoded: Record<string, unknown> | undefined;
    let err: unknown;
    try {
      decoded = codec.decodeResponse('del', xml);
    } catch (e) {
      err = e;
    }
    // <__proto__> has no namespace: refused as such, and nothing was polluted.
    expect((err as SoapError).kind).toBe('namespace');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    decoded = codec.decodeResponse('del', xml.replace('<__proto__>x</__proto__>', ''));
    expect(decoded).toMatchObject({ enTete: { requestId: 'id<1>&' }, statut: 'OK', numeroEngagement: 'ENG-01' });
  });

  it('reports non-XML and empty bodies clearly', () => {
    expect(soapError(() => codec.decodeResponse('idb', '{"statut":"OK"}')).kind).toBe('malformed');
    expect(soapError(() => codec.decodeResponse('idb', '   ')).kind).toBe('empty');
  });
});
