import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './closest-name.js';

describe('closest name', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('rp_nmae', 'rp_name')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only a near name, and the nearest', () => {
    expect(closest('prot', ['host', 'port'])).toBe('port');
    expect(closest('user.creatd', ['user.created', 'user.changed'])).toBe('user.created');
    expect(closest('nonsense', ['sign_in', 'step_up'])).toBeUndefined();
  });
});
