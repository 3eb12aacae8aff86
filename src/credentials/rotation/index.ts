export type { RotationContext, RotationEvidence, RotationOutcome, RotationTarget, Rotator } from './rotator.js';
