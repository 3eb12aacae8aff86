import { describe, expect, it } from 'vitest';
import { dnsProtectSchema } from '../../config/index.js';
import { createLookalikeDetector, type LookalikeVerdict } from './index.js';

const detector = createLookalikeDetector(
  dnsProtectSchema.parse({ brands: ['acme', 'acmebank', 'contoso'], domains: ['acme.com', 'acmebank.com', 'contoso.com'] }),
);

const codes = (verdict: LookalikeVerdict) => verdict.reasons.map((r) => r.code);

function expectLookalike(name: string, code: string, brand?: string): void {
  const verdict = detector.check(name);
  expect(verdict.lookalike, `${name}: ${JSON.stringify(verdict)}`).toBe(true);
  expect(codes(verdict)).toContain(code);
  if (brand !== undefined) expect(verdict.brand).toBe(brand);
  expect(verdict.score).toBeGreaterThanOrEqual(0.7);
  expect(verdict.score).toBeLessThanOrEqual(1);
}

describe('brand + keyword compounds', () => {
  it.each(['acme-okta.com', 'acmesso.net', 'okta-acme.co', 'acme-sso-login.com', 'acmehr.com', 'vpn-acme.org'])('%s', (name) =>
    expectLookalike(name, 'brand_keyword_compound', 'acme'),
  );
  it('brand beside infrastructure words counts only with a hyphen', () => {
    expectLookalike('acmebank-cdn.com', 'brand_keyword_compound', 'acmebank');
    expect(detector.check('acmebankcdn.com').lookalike).toBe(false);
  });
});

describe('typos of a brand or protected domain', () => {
  it.each([
    ['contoo.com', 'typo_omission'],
    ['conntoso.com', 'typo_repetition'],
    ['cnotoso.com', 'typo_transposition'],
    ['xontoso-login.com', 'typo_replacement'],
    ['contosoo-hr.com', 'typo_repetition'],
    ['contaso-vpn.com', 'typo_vowel_swap'],
    ['cgntoso-sso.com', 'typo_bitsquat'],
    ['contpso-okta.com', 'typo_replacement'],
    ['acmeb-ank.com', 'typo_hyphenation'],
  ])('%s → %s', (name, code) => expectLookalike(name, code));
  it('a vowel dropped or an edit at the edge of the brand alone is below the threshold (ordinary words arise so)', () => {
    for (const name of ['contso.com', 'acmebanks.com']) {
      const verdict = detector.check(name);
      expect(verdict.lookalike).toBe(false);
      expect(verdict.reasons[0]?.code).toMatch(/^typo_/);
    }
  });
  it('an insertion inside a long brand, alone', () => expectLookalike('acmebsank.com', 'typo_insertion', 'acmebank'));
});

describe('homoglyphs and confusables', () => {
  it.each(['acrne.com', 'acrnebank.com', 'acrne-sso.com'])('ASCII look-alikes: %s', (name) => expectLookalike(name, 'homoglyph'));
  it.each(['c0ntoso.com', 'contos0.net', 'conto5o-sso.com', 'acmebamk.com'])('flags %s', (name) => {
    expect(detector.check(name).lookalike).toBe(true);
  });
  it('i/l/1, rn/m, vv/w, 0/o', () => {
    const lookalikes = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['walmart', 'linkedin'], domains: [] }));
    for (const name of ['vvalmart.com', 'walrnart.com', 'llnkedln.com', 'l1nked1n.com', 'wa1mart.com']) {
      const verdict = lookalikes.check(name);
      expect(verdict.lookalike, name).toBe(true);
      expect(codes(verdict)).toContain('homoglyph');
    }
  });
  it('Cyrillic letters, as Unicode and as punycode', () => {
    const cyrillic = 'аcme.com'; // U+0430
    const ascii = new URL(`http://${cyrillic}`).hostname;
    expect(ascii.startsWith('xn--')).toBe(true);
    for (const name of [cyrillic, ascii]) {
      const verdict = detector.check(name);
      expect(verdict.lookalike).toBe(true);
      expect(codes(verdict)).toContain('confusable_unicode');
      expect(verdict.name).toBe(cyrillic);
    }
  });
  it('Latin letters with diacritics and full-width forms', () => {
    expect(codes(detector.check('contosó.com'))).toContain('confusable_unicode');
    expect(detector.check('ａｃｍｅ-sso.com').lookalike).toBe(true);
  });
});

describe('brand in a subdomain of another registrable domain', () => {
  it('protected domain spelled out in front of another domain', () => expectLookalike('acme.com.login-portal.net', 'brand_in_subdomain', 'acme'));
  it('brand compound as a subdomain label', () => expectLookalike('acme-sso.evil.io', 'brand_in_subdomain', 'acme'));
  it('bare brand in front of a lure domain', () => expectLookalike('acme.login-portal.net', 'brand_in_subdomain'));
  it('bare brand as a SaaS tenant name is not enough', () => {
    const verdict = detector.check('acme.zendesk.com');
    expect(verdict.lookalike).toBe(false);
    expect(codes(verdict)).toContain('brand_in_subdomain');
  });
  it('private suffixes are their own registrable domains', () => expectLookalike('acme-sso.github.io', 'brand_keyword_compound'));
});

describe('TLD swaps', () => {
  it.each(['acme.co', 'acme.net', 'acme.io', 'acme.xyz'])('%s', (name) => expectLookalike(name, 'tld_swap', 'acme'));
  it('a keyword compound under another suffix', () => expectLookalike('acme-corp.net', 'brand_keyword_compound', 'acme'));
  it('a country-code suffix is suspicious but below the default threshold', () => {
    const verdict = detector.check('acme.de');
    expect(verdict.lookalike).toBe(false);
    expect(codes(verdict)).toContain('tld_swap');
    expect(verdict.score).toBeGreaterThan(0.5);
  });
});

describe('lure suffix without a known brand', () => {
  it.each(['globex-okta.com', 'initech-sso.com', 'initechokta.com', 'hooli-helpdesk.com', 'costsso.com'])('%s', (name) =>
    expectLookalike(name, 'lure_keyword_suffix'),
  );
  it.each(['nespresso.com', 'acesso.gov.br', 'askmehelpdesk.com', 'tldp.org', 'sso-fh.com'])('not %s', (name) => {
    expect(detector.check(name).lookalike).toBe(false);
  });
});

describe('negatives', () => {
  it.each(['acme.com', 'www.acme.com', 'sso.acme.com', 'login.acmebank.com', 'ACME.COM.', 'contoso.com'])('protected: %s', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike).toBe(false);
    expect(codes(verdict)).toEqual(['protected_domain']);
  });
  it.each([
    'google.com',
    'wikipedia.org',
    'pacmed.com',
    'academy.com',
    'macmedia.net',
    'acmetools.com',
    'acmetonia.com',
  ])('ordinary name: %s', (name) => {
    expect(detector.check(name).lookalike, JSON.stringify(detector.check(name))).toBe(false);
  });
  it('a short brand inside ordinary words is not matched', () => {
    const short = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['att', 'box'], domains: ['att.com', 'box.com'] }));
    for (const name of ['attention.com', 'matter.com', 'battery.net', 'foxit.com', 'inbox.com', 'idea.int']) {
      expect(short.check(name).lookalike, name).toBe(false);
    }
    for (const name of ['att-sso.com', 'attvpn.com', 'ssoatt.com', 'att-help.net', 'boxsso.com', 'att.net']) {
      expect(short.check(name).lookalike, name).toBe(true);
    }
  });
  it('a brand next to another word that is a real word is not a typo', () => {
    const goggle = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['goggle'], domains: ['goggle.com'] }));
    expect(goggle.check('google.com').score).toBeLessThan(0.7);
  });
  it('IP addresses and bare suffixes are not lookalikes', () => {
    for (const name of ['192.0.2.1', 'com', 'co.uk']) expect(detector.check(name)).toMatchObject({ lookalike: false, reasons: [] });
  });
});

describe('bad input', () => {
  it.each([
    ['', 'the name is empty'],
    ['a..b.com', 'empty label'],
    [`${'a'.repeat(64)}.com`, 'longer than 63'],
    [`${'a.'.repeat(130)}com`, 'longer than 253'],
    ['acme com', 'not allowed'],
    ['xn--zz.com', 'punycode'],
    ['a'.repeat(5000), 'longer than 253'],
  ])('%j gives invalid_name', (name, problem) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike).toBe(false);
    expect(verdict.score).toBe(0);
    expect(verdict.reasons[0]?.code).toBe('invalid_name');
    expect(verdict.reasons[0]?.detail).toContain(problem);
  });
  it('a non-string gives invalid_name', () => {
    expect(detector.check(42 as unknown as string).reasons[0]?.code).toBe('invalid_name');
  });
  it('an invalid configuration is refused at start-up with invalid_config', () => {
    expect(() => createLookalikeDetector({ brands: ['ac me'] } as never)).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => createLookalikeDetector({ brands: [], domains: [], unknown: 1 } as never)).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describe('generic words, initialisms and brands as lure words', () => {
  const lookalikes = createLookalikeDetector(
    dnsProtectSchema.parse({ brands: ['acme', 'bbt', 'vz', 'salesforce', 'livechat', 'apple', 'square', 'microsoft', 'persona'], domains: [] }),
  );
  it.each(['acme-usa.com', 'emea-acme.com', 'bbtplus.com', 'yourbbt.net', 'livechat-salesforce.com', 'com-acme-postcv.online', 'www-acme.net'])(
    'flags %s',
    (name) => expect(lookalikes.check(name).lookalike, JSON.stringify(lookalikes.check(name))).toBe(true),
  );
  it.each(['acmeplus.com', 'eu-acme.com', 'vzconnect.com', 'apple-square.com', 'microsoftpersonalcontent.com', 'acme-accounting.com'])('not %s', (name) => {
    expect(lookalikes.check(name).lookalike, JSON.stringify(lookalikes.check(name))).toBe(false);
  });
});

describe('lure suffixes and the -esso ending', () => {
  it.each(['activesso.com', 'icaresso.com', 'stargatesso.net', 'initech-login.com', 'globex-signin.net'])('flags %s', (name) =>
    expectLookalike(name, 'lure_keyword_suffix'),
  );
  it.each(['acesso.com.br', 'espresso.it', 'progresso.com', 'processo.net', 'avesso.com.br', 'adesso.de', 'congresso.it'])(
    'not the Romance word %s',
    (name) => expect(detector.check(name).lookalike).toBe(false),
  );
});

describe('typo refinements', () => {
  const long = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['qualfon', 'grayscale', 'athene', 'evolution'], domains: [] }));
  it('a typo of a long brand with look-alike letters (`i` for `l`) is two edits made to pass for it', () => {
    const verdict = long.check('quaifone.net');
    expect(verdict.lookalike).toBe(true);
    expect(codes(verdict)).toEqual(expect.arrayContaining(['typo_insertion', 'homoglyph']));
    expect(long.check('qualfone.net').lookalike).toBe(false);
  });
  it('an inner typo of a 9+ letter brand as a hyphen token', () => {
    expect(long.check('gryscale-x9q.com').lookalike).toBe(true);
    expect(long.check('athena-x9q.com').lookalike).toBe(false);
  });
  it('a hyphen after one leading letter is the e-/i- naming habit, not a split brand', () => {
    expect(long.check('e-volution.ai').lookalike).toBe(false);
    const split = long.check('evolu-tion.com');
    expect(split.lookalike).toBe(true);
    expect(codes(split)).toContain('typo_hyphenation');
  });
});

describe('cached verdicts', () => {
  it('a repeat returns the same frozen verdict, which no caller can change', () => {
    const first = detector.check('acme-okta.com');
    expect(detector.check('acme-okta.com')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.reasons)).toBe(true);
    expect(() => {
      (first as { lookalike: boolean }).lookalike = false;
    }).toThrow(TypeError);
    expect(() => (first.reasons as LookalikeVerdict['reasons'][number][]).pop()).toThrow(TypeError);
    expect(detector.check('acme-okta.com').lookalike).toBe(true);
  });
  it('names under a cached registrable domain are judged on their own labels', () => {
    const fresh = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme'], domains: ['acme.com'] }));
    expect(fresh.check('www.portal-access.net').lookalike).toBe(false);
    expect(fresh.check('acme.portal-access.net').lookalike).toBe(true);
    expect(fresh.check('x.acme.portal-access.net').reasons.map((r) => r.code)).toContain('brand_in_subdomain');
  });
  it('without a cache the verdicts are the same values', () => {
    const uncached = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme'], domains: ['acme.com'], cache_entries: 0 }));
    const a = uncached.check('acme-sso.net');
    const b = uncached.check('acme-sso.net');
    expect(a).not.toBe(b);
    expect(a).toEqual(b);
    expect(a.lookalike).toBe(true);
  });
  it('refuses a negative cache size and a bad generic keyword with invalid_config', () => {
    expect(() => createLookalikeDetector({ brands: [], domains: [], cache_entries: -1 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    expect(() => createLookalikeDetector({ brands: [], domains: [], generic_keywords: ['no spaces'] } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });
});

describe('abbreviations beside a brand', () => {
  it.each(['contoso-cms.com', 'crm-contoso.net', 'acme-cso.com', 'contoso-ciso.com'])('a workplace-system abbreviation is a lure token: %s', (name) =>
    expectLookalike(name, 'brand_keyword_compound'),
  );
  it.each(['cts-contoso.com', 'contoso-lnk.com', 'contoso-xqz.net'])('a three-consonant initialism beside a 5+ letter brand: %s', (name) =>
    expectLookalike(name, 'brand_abbreviation', 'contoso'),
  );
  it.each([
    'contoso-dns.com', // the brand's own machine host
    'contoso-ink.com', // a word (its skeleton is `lnk`: the letters as typed are read)
    'contosocms.com', // glued, the abbreviation is inside ordinary words
    'acme-cts.com', // a short brand needs a lure word
    'cts-contoso-games.com', // more than the two tokens
    'contoso-sky.com', // `y` is a vowel
  ])('not %s', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(false);
    expect(codes(verdict)).not.toContain('brand_abbreviation');
  });
});

describe('a connector between a lure word and a brand', () => {
  it.each(['workatcontoso.com', 'helpatacme.com', 'acmeatwork.net'])('%s', (name) => expectLookalike(name, 'brand_keyword_compound'));
  it.each(['atacme.com', 'contosoat.com', 'greatcontoso.com', 'loginat.com', 'chatacme.com'])('not %s', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(false);
  });
});

describe('an IT vendor that is both a brand and a lure keyword', () => {
  const vendors = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['workday', 'contoso'], domains: ['workday.com'] }));
  it.each(['zorb-workday.com', 'workday-zorb.net'])('<target>-<vendor> as hyphen tokens: %s', (name) => {
    const verdict = vendors.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
    expect(verdict.brand).toBe('workday');
    expect(codes(verdict)).toContain('brand_keyword_compound');
  });
  it.each(['myworkdayjobs.com', 'workdaysuv.com', 'contoso-zorb.com'])('not the vendor\'s own glued hosts, nor another brand beside a word: %s', (name) => {
    expect(vendors.check(name).lookalike, JSON.stringify(vendors.check(name))).toBe(false);
  });
});

describe('the corporate name under another suffix', () => {
  it.each(['contosoinc.net', 'acmebankllc.org', 'acmeinc.co'])('%s', (name) => expectLookalike(name, 'tld_swap'));
  it.each([
    'contosoinc.com', // the corporation's own site, under its own suffix
    'contosocdn.net', // machine hosts are spread over many suffixes (`microsoftonline.cn`)
    'contosoincubator.net',
  ])('not %s', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(false);
  });
});

describe('lure words as a free name under a shared suffix', () => {
  it.each(['tickets.zapto.org', 'helpdesk.duckdns.org', 'www.support-tickets.herokuapp.com'])('%s', (name) =>
    expectLookalike(name, 'lure_on_shared_suffix'),
  );
  it.each([
    'tickets.com', // a registered name: the age check weighs it
    'support.co.uk',
    'myblog.github.io', // no lure word
    'webmail.ddns.net', // machine words only
  ])('not %s', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(false);
    expect(codes(verdict)).not.toContain('lure_on_shared_suffix');
  });
});

describe('the distinctive part of a brand named with its scope (US, Global)', () => {
  const scoped = createLookalikeDetector(
    dnsProtectSchema.parse({ brands: ['usfabrikam', 'northwindglobal', 'infotailspin'], domains: ['usfabrikam.com'] }),
  );
  it.each([
    ['fabrikamhr.com', 'usfabrikam'],
    ['portal-fabrikam.net', 'usfabrikam'],
    ['fabrlkam-hr.net', 'usfabrikam'],
    ['northwind-helpdesk.com', 'northwindglobal'],
  ])('%s', (name, brand) => {
    const verdict = scoped.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
    expect(verdict.brand).toBe(brand);
    expect(codes(verdict)).toContain('brand_keyword_compound');
  });
  it.each([
    'fabrikam.com', // the part alone is an ordinary name
    'fabrikam-games.com', // beside an unknown word
    'fabrkam-hr.net', // no typos of a part (look-alike letters still count)
    'tailspin-hr.com', // `info` is not a scope word: `infocision` is not `cision`
  ])('not %s', (name) => {
    expect(scoped.check(name).lookalike, JSON.stringify(scoped.check(name))).toBe(false);
  });
});

describe('a typo of a hyphenated brand that keeps its hyphen', () => {
  const hyphenated = createLookalikeDetector(dnsProtectSchema.parse({ domains: ['kopex.com', 'ko-pex.com'] }));
  it.each([
    ['ko-ppex.com', 'typo_repetition'], // edit after the hyphen
    ['koo-pex.net', 'typo_repetition'], // edit before it: the hyphen kept counting from the end
    ['ko-pxe.com', 'typo_transposition'],
  ])('%s', (name, code) => {
    const verdict = hyphenated.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
    expect(codes(verdict)).toEqual(expect.arrayContaining([code, 'typo_hyphenation']));
  });
  it('a TLD swap names the protected domains as configured', () => {
    const verdict = hyphenated.check('kopex.net');
    expect(verdict.reasons.find((r) => r.code === 'tld_swap')?.detail).toContain('kopex.com, ko-pex.com under another suffix');
  });
  it.each([
    'koppex.com', // the same edit without the brand's hyphen: a short brand's typo alone stays weak
    'ko-pez.com', // an edit of the last letter, where ordinary names arise
    'k-oppex.com', // a hyphen where the brand has none
  ])('not %s', (name) => {
    expect(hyphenated.check(name).lookalike, JSON.stringify(hyphenated.check(name))).toBe(false);
  });
});

describe('names under suffixes open only to vetted institutions (edu, gov, ac.uk)', () => {
  it.each(['acme-sso.edu', 'acme-login.ac.uk', 'contoso-okta.gov.br', 'acme.gov'])('not %s: the registrable label is the institution\'s own', (name) => {
    const verdict = detector.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(false);
  });
  it('a subdomain of a vetted name is still examined (an institution\'s host can be taken over)', () => {
    expectLookalike('acme-login.school.edu', 'brand_in_subdomain', 'acme');
  });
  it('a private-section suffix that reads like a vetted one stays examined: `edu.eu.org` is free for anyone', () => {
    expectLookalike('acme-sso.edu.eu.org', 'brand_keyword_compound', 'acme');
  });
  it('open registries stay examined: `.ac` (Ascension Island) is not `ac.uk`', () => {
    expectLookalike('acme-sso.ac', 'brand_keyword_compound', 'acme');
    expectLookalike('acme-sso.co.uk', 'brand_keyword_compound', 'acme');
  });
  it('vetted_suffixes: an empty list examines every suffix', () => {
    const open = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme'], vetted_suffixes: [] }));
    expect(open.check('acme-sso.edu').lookalike).toBe(true);
    expect(() => dnsProtectSchema.parse({ vetted_suffixes: ['*.gov'] })).toThrow(/vetted suffix/);
  });
});

describe('a short brand glued to a helpdesk word (the lures of 2022 and 2023)', () => {
  // A brand that is also an English word (acme, cox, box) joined to help or support is the helpdesk lure
  // itself, not an ordinary compound: a rule that let `supportbox` pass would let `acmehelp` pass too.
  const short = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme', 'cox', 'box'], domains: ['acme.com', 'cox.com', 'box.com'] }));
  it.each(['acmehelp.com', 'acmesupport.com', 'coxhelp.com', 'coxsupport.net', 'boxsupport.com', 'acme-help.com'])('%s', (name) => {
    expect(short.check(name).lookalike, JSON.stringify(short.check(name))).toBe(true);
  });
});

describe('the distinctive part of a brand named with a name suffix (app, db, hq)', () => {
  const suffixed = createLookalikeDetector(dnsProtectSchema.parse({ domains: ['fabrikamdb.com', 'tailspinapp.com'] }));
  it.each([
    ['fabrikamhr.com', 'fabrikamdb'],
    ['fabrikam-payroll.net', 'fabrikamdb'],
    ['tailspin-helpdesk.com', 'tailspinapp'],
  ])('%s', (name, brand) => {
    const verdict = suffixed.check(name);
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
    expect(verdict.brand).toBe(brand);
  });
  it.each([
    'fabrikam.com', // the bare name alone may be another company's
    'fabrikam-games.com', // beside an unknown word
    'apptailspin.com', // a name suffix word is stripped from the end only
  ])('not %s', (name) => {
    expect(suffixed.check(name).lookalike, JSON.stringify(suffixed.check(name))).toBe(false);
  });
  it('name_suffix_words: an empty list keeps the whole name only', () => {
    const plain = createLookalikeDetector(dnsProtectSchema.parse({ domains: ['fabrikamdb.com'], name_suffix_words: [] }));
    expect(plain.check('fabrikamhr.com').lookalike).toBe(false);
  });
  it('scope_words: a scope word added by config splits it off too', () => {
    const config = { brands: ['fabrikamasia'], domains: ['fabrikamasia.com'] };
    expect(createLookalikeDetector(dnsProtectSchema.parse(config)).check('fabrikam-hr.com').lookalike).toBe(false);
    const scoped = createLookalikeDetector(dnsProtectSchema.parse({ ...config, scope_words: ['asia'] }));
    expect(scoped.check('fabrikam-hr.com').lookalike).toBe(true);
  });
});

describe('the word lists are configuration (dns.protect)', () => {
  const configured = (extra: Record<string, unknown>) =>
    createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme', 'contoso'], domains: ['acme.com', 'contoso.com'], ...extra }));

  it('legal_entity_words: a company word added by config makes the corporate name under another suffix a lookalike', () => {
    expect(configured({}).check('contosogmbh.net').lookalike).toBe(false);
    const verdict = configured({ legal_entity_words: ['inc', 'gmbh'] }).check('contosogmbh.net');
    expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
    expect(codes(verdict)).toContain('tld_swap');
    expect(configured({ legal_entity_words: [] }).check('contosoinc.net').lookalike).toBe(false);
  });

  it('domain_spelling_tokens: an empty list stops counting `www-` as a lure token', () => {
    expect(configured({}).check('www-acme.net').lookalike).toBe(true);
    expect(configured({ domain_spelling_tokens: [] }).check('www-acme.net').lookalike).toBe(false);
  });

  it('vanity_cctlds: a ccTLD taken off the list becomes a country namespace, with its lower score', () => {
    const vanity = configured({}).check('acme.co');
    const country = configured({ vanity_cctlds: ['io'] }).check('acme.co');
    expect(country.score).toBeLessThan(vanity.score);
  });

  it('connector_words: `at` joins a lure word to a brand when glued; an empty list does not', () => {
    expect(configured({}).check('workatacme.com').lookalike).toBe(true);
    expect(configured({ connector_words: [] }).check('workatacme.com').lookalike).toBe(false);
  });

  it('refuses malformed entries with the path named', () => {
    expect(() => dnsProtectSchema.parse({ vanity_cctlds: ['com'] })).toThrow(/two letters/);
    expect(() => dnsProtectSchema.parse({ legal_entity_words: ['a b'] })).toThrow(/2-32 letters or digits/);
  });
});
