export { createSshCertificateAuthority, type SshCertificateAuthority } from './create-ssh-certificate-authority.js';
export { issueHostCertificate, issueUserCertificate, type IssueCertificateDeps, type VerifiedSshIdentity } from './issue-certificates.js';
export type { IssuedSshCertificate } from './ssh-certificate.js';
export type { SshCa } from './ssh-ca-ring.js';
export { loginsForGroups, sshSettingsOf, type SshSettings } from './ssh-settings.js';
export { MIN_RSA_BITS, parseSubjectPublicKey, sshFingerprint } from './ssh-public-key.js';
export { createSshCertificateGate, SshPolicyRefusal, SSH_POLICY_METHOD, type SshCertificateGate, type SshCertificateRequest } from './issue-for-session.js';
export { generateSessionKey, type SessionKey } from './session-key.js';
