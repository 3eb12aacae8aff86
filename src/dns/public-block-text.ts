/**
 * What a DNS client or a browser is told about a runtime block. The stored reason is for operators:
 * an incident's reason carries its title ("incident inc-…: CFO's mailbox phished"), and an EDE
 * EXTRA-TEXT (RFC 8914 §2) goes to every client that asks, including the attacker testing whether
 * the lookalike is burnt. Clients get one generic sentence and, for an incident, its id as a
 * reference the help desk can look up; never the title nor the operator's note.
 */
export const GENERIC_BLOCK_TEXT = "Blocked by your organisation's security policy";

// The reason the incident playbook records: `incident <id>: <title>`.
const INCIDENT_REASON = /^incident (inc-[0-9a-f-]{1,64}):/;

/** The incident id a block reason names, if an incident added the block. */
export function incidentOfBlockReason(reason: string): string | undefined {
  return INCIDENT_REASON.exec(reason)?.[1];
}

/** The EDE EXTRA-TEXT and block-page sentence for a runtime block with this stored reason. */
export function publicBlockText(reason: string | undefined): string {
  const incident = reason === undefined ? undefined : incidentOfBlockReason(reason);
  return incident ? `${GENERIC_BLOCK_TEXT} (ref ${incident})` : GENERIC_BLOCK_TEXT;
}
