/**
 * Edits the text of an authorized_keys file (sshd(8) AUTHORIZED_KEYS FILE FORMAT): drops every line
 * whose key blob is `removeBlob`, whatever its options or comment, and appends `addLine` unless its
 * blob is already there. Every other line, comments included, is kept as it was.
 *
 * Matching on the blob rather than on the whole line matters: the same leaked key may have been
 * installed twice, once with `from=` options and once without, and both must go.
 */
export function replaceAuthorizedKey(
  content: string,
  change: { removeBlob?: string; addLine?: string },
): { content: string; removed: number } {
  const addBlob = change.addLine === undefined ? undefined : blobOfLine(change.addLine);
  let removed = 0;
  let present = false;
  const kept: string[] = [];
  for (const line of content.split('\n')) {
    const blob = blobOfLine(line);
    if (blob !== undefined && blob === change.removeBlob) {
      removed += 1;
      continue;
    }
    if (blob !== undefined && blob === addBlob) present = true;
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (change.addLine !== undefined && !present) kept.push(change.addLine);
  return { content: kept.length === 0 ? '' : `${kept.join('\n')}\n`, removed };
}

/**
 * The base64 key blob of an authorized_keys line: the token after the key type, which itself may
 * follow an options field (quoted strings in it can hold spaces).
 */
export function blobOfLine(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of trimmed) {
    if (char === '"') quoted = !quoted;
    if (!quoted && (char === ' ' || char === '\t')) {
      if (current !== '') tokens.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (current !== '') tokens.push(current);
  const typeAt = tokens.findIndex((token) => /^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+$/.test(token));
  const blob = typeAt === -1 ? undefined : tokens[typeAt + 1];
  return blob !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? blob : undefined;
}
