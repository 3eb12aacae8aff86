import { findAffectedUsers } from '../find-affected-users.js';
import type { PlaybookStep } from './playbook-step.js';

/** Runs the hunts and records every user found as contained (the later steps act on that list). */
export const huntStep: PlaybookStep = {
  name: 'hunt',
  dependsOn: () => [],
  async run({ deps, incident }) {
    const found = await findAffectedUsers(deps, incident);
    const added = await deps.repository.addUsers(incident.id, found.users);
    return { hunts: found.hunts, usersFound: found.users.size, usersAdded: added };
  },
};
