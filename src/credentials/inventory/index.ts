/**
 * The credential inventory: credentials of systems outside Gatehouse (service accounts, API tokens,
 * SSH keys, database roles) with owner, system, last rotation and evidence of last use, imported from
 * CSV or JSON or kept by CLI, beside Gatehouse's own credentials listed live.
 *
 * The attacker, and what stops each move:
 * - A credential nobody knows about is never rotated: imports are strict and atomic (a bad row names
 *   its line and column and nothing is written, `inventory_import_invalid`), and Gatehouse's own keys
 *   are read where they live rather than copied.
 * - The inventory becoming a second copy of the secrets: a locator that looks like a secret (a
 *   `password=`, credentials in a URL, a long high-entropy string) is refused, naming the key and never
 *   echoing the value (`inventory_locator_secret`).
 * - A silent edit ("this key is unused"): every write is audited in the same transaction.
 */
export { CredentialInventory, type ImportResult } from './credential-inventory.js';
export { CREDENTIAL_KINDS, INVENTORY_FIELDS, checkInventoryInput, type CredentialKind, type InventoryInput, type InventoryItem } from './inventory-item.js';
export { INVENTORY_ERRORS } from './inventory-codes.js';
export { checkLocator } from './check-locator.js';
export { parseCsv, parseInventoryCsv, parseInventoryJson } from './parse-inventory-file.js';
export { listOwnCredentials, type OwnCredential, type OwnCredentialSources } from './list-own-credentials.js';
