import { closest } from '../lib/closest-name.js';
export { knownAuditTypes } from '../audit/index.js';

export function unknownTypeMessage(type: string, known: readonly string[]): string {
  const suggestion = closest(type, known);
  return `--type ${JSON.stringify(type.slice(0, 60))} is not an audit event type${suggestion ? ` (did you mean ${suggestion}?)` : ''}; known types: ${known.join(', ')}`;
}
