import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { bitString, boolean, explicit, octetString, oid, printableString, sequence, set, time, unsignedInteger, utf8String } from './der.js';

/**
 * A test certificate authority for packed attestation (WebAuthn L3 §8.2): a root, optional
 * intermediates and attestation leaf certificates with the FIDO AAGUID extension, built with
 * node:crypto and a small DER writer so tests need no openssl binary. Test-support only.
 */

export interface TestCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly x509: X509Certificate;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly subject: DistinguishedName;
}

export interface DistinguishedName {
  readonly C?: string;
  readonly O?: string;
  readonly OU?: string;
  readonly CN: string;
}

export interface IssueCertificateOptions {
  readonly subject: DistinguishedName;
  /** Signs the certificate; omitted: self-signed with the certificate's own key. */
  readonly issuer?: TestCertificate;
  readonly ca: boolean;
  /** FIDO AAGUID extension 1.3.6.1.4.1.45724.1.1.4 (attestation leaf certificates). */
  readonly aaguid?: Uint8Array;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  country: '2.5.4.6',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  fidoGenCeAaguid: '1.3.6.1.4.1.45724.1.1.4',
} as const;

const DEFAULT_NOT_BEFORE = new Date(Date.UTC(2020, 0, 1));
const DEFAULT_NOT_AFTER = new Date(Date.UTC(2049, 11, 31));

function encodeName(name: DistinguishedName): Buffer {
  const rdn = (type: string, value: Buffer) => set(sequence(oid(type), value));
  const parts: Buffer[] = [];
  if (name.C) parts.push(rdn(OID.country, printableString(name.C)));
  if (name.O) parts.push(rdn(OID.organization, utf8String(name.O)));
  if (name.OU) parts.push(rdn(OID.organizationalUnit, utf8String(name.OU)));
  parts.push(rdn(OID.commonName, utf8String(name.CN)));
  return sequence(...parts);
}

function extension(type: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(type), ...(critical ? [boolean(true)] : []), octetString(value));
}

export function issueCertificate(options: IssueCertificateOptions): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuerName = options.issuer ? options.issuer.subject : options.subject;
  const signingKey = options.issuer ? options.issuer.privateKey : privateKey;
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const extensions: Buffer[] = [
    extension(OID.basicConstraints, true, options.ca ? sequence(boolean(true)) : sequence()),
  ];
  // RFC 5280 §4.2.1.3: keyCertSign (bit 5) and cRLSign (bit 6) -> 0b0000011, one unused bit.
  if (options.ca) extensions.push(extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)));
  if (options.aaguid) extensions.push(extension(OID.fidoGenCeAaguid, false, octetString(options.aaguid)));
  const serial = randomBytes(12);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(serial),
    algorithm,
    encodeName(issuerName),
    sequence(time(options.notBefore ?? DEFAULT_NOT_BEFORE), time(options.notAfter ?? DEFAULT_NOT_AFTER)),
    encodeName(options.subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, signingKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = sequence(tbs, algorithm, bitString(signature));
  const x509 = new X509Certificate(der);
  return { der, pem: x509.toString(), x509, privateKey, publicKey, subject: options.subject };
}

export interface AttestationChain {
  readonly root: TestCertificate;
  readonly intermediates: readonly TestCertificate[];
  readonly leaf: TestCertificate;
  /** x5c for the attestation statement: leaf first, then intermediates, no root (§8.2). */
  readonly x5c: readonly Buffer[];
}

/**
 * A vendor-style chain: root CA, `intermediateCount` CAs, and an attestation leaf for `aaguid`
 * (omitted: no AAGUID extension, as in U2F attestation certificates).
 */
export function createAttestationChain(options: {
  readonly aaguid?: Uint8Array;
  readonly root?: TestCertificate;
  readonly intermediateCount?: number;
  readonly vendor?: string;
  /** Put a different AAGUID in the leaf's extension than the authenticator claims (negative tests). */
  readonly leafAaguid?: Uint8Array;
  readonly leafNotAfter?: Date;
}): AttestationChain {
  const vendor = options.vendor ?? 'Gatehouse Test Vendor';
  const root = options.root ?? issueCertificate({ subject: { C: 'US', O: vendor, CN: `${vendor} Root CA` }, ca: true });
  const intermediates: TestCertificate[] = [];
  let issuer = root;
  for (let i = 0; i < (options.intermediateCount ?? 0); i += 1) {
    issuer = issueCertificate({ subject: { C: 'US', O: vendor, CN: `${vendor} Intermediate ${i + 1}` }, issuer, ca: true });
    intermediates.push(issuer);
  }
  const leafAaguid = options.leafAaguid ?? options.aaguid;
  const leaf = issueCertificate({
    // §8.2.1: OU must be "Authenticator Attestation", C a two-letter code, O and CN present.
    subject: { C: 'US', O: vendor, OU: 'Authenticator Attestation', CN: `${vendor} Attestation` },
    issuer,
    ca: false,
    ...(leafAaguid ? { aaguid: leafAaguid } : {}),
    ...(options.leafNotAfter ? { notAfter: options.leafNotAfter } : {}),
  });
  return { root, intermediates, leaf, x5c: [leaf.der, ...[...intermediates].reverse().map((cert) => cert.der)] };
}
