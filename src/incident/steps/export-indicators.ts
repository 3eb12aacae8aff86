import { buildStixBundle } from '../stix/stix-bundle.js';
import type { PlaybookStep } from './playbook-step.js';

/** Share with other targets (2022: the same kit hit 130 companies): indicators as a STIX 2.1 bundle. */
export const exportStixStep: PlaybookStep = {
  name: 'export_stix',
  dependsOn: () => [],
  async run({ deps, incident }) {
    const bundle = buildStixBundle({ incidentId: incident.id, title: incident.title, organisation: deps.settings().organisation, declaredAt: incident.declaredAt, indicators: incident.indicators });
    await deps.repository.setStix(incident.id, bundle);
    return { bundle: bundle.id, objects: bundle.objects.length, indicators: bundle.objects.filter((o) => o.type === 'indicator').length };
  },
};
