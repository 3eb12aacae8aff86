/** A certificate Gatehouse issued, with what the audit log and the caller need to know about it. */
export interface IssuedSshCertificate {
  /** The OpenSSH certificate line, to save as `<key>-cert.pub` or add to the agent. */
  certificate: string;
  type: 'user' | 'host';
  keyId: string;
  principals: string[];
  /** Decimal, as `ssh-keygen -L` and sshd's log print it. */
  serial: string;
  /** `SHA256:…` of the certified public key. */
  keyFingerprint: string;
  /** The CA generation that signed it. */
  caId: string;
  /** Milliseconds since the epoch (whole seconds). */
  validAfter: number;
  validBefore: number;
}
