import { describe, expect, it } from 'vitest';
import { MASK, maskSecrets, maskText, scrub, secretsIn } from '../../src/core/secrets.js';

describe('secrets: one rule for what is masked', () => {
  it('masks the value after a secret key in YAML, JSON, Slack words and daemon configs, keeping the rest', () => {
    expect(maskText('sessions:\n  - {a: r1, b: r2, password: pw-Yaml1}\n')).toBe('sessions:\n  - {a: r1, b: r2, password: "***"}\n');
    expect(maskText('{"a":"r1","password":"pw\\"Json2","b":"r2"}')).toBe('{"a":"r1","password":"***","b":"r2"}');
    expect(maskText("password: 'pw quoted'")).toBe("password: '***'");
    expect(maskText('/lab daemon peer add r1 address=10.0.0.2 neighbors.0.password=pw-Slack3 asn=65002')).toBe(
      '/lab daemon peer add r1 address=10.0.0.2 neighbors.0.password=*** asn=65002',
    );
    expect(maskText(' neighbor 10.0.0.2 password pw-Frr4\n neighbor 10.0.0.2 remote-as 65002')).toBe(
      ' neighbor 10.0.0.2 password ***\n neighbor 10.0.0.2 remote-as 65002',
    );
    expect(maskText('    auth-password = "pw-Gobgp5"')).toBe('    auth-password = "***"');
    expect(maskText('    md5-password "cHctRXhhNg==";')).toBe('    md5-password "***";');
    expect(maskText('no secret here: asn=65001 name=r1')).toBe('no secret here: asn=65001 name=r1');
  });

  it('masks string values under secret keys at any depth, keeps flags such as has_password', () => {
    const out = maskSecrets({ neighbors: [{ address: '10.0.0.2', password: 'pw', has_password: true }], token: 'tk', n: 3 });
    expect(out).toEqual({ neighbors: [{ address: '10.0.0.2', password: MASK, has_password: true }], token: MASK, n: 3 });
  });

  it('finds the secrets a caller sent and scrubs them from any text, such as an error', () => {
    const sent = secretsIn({ name: 'r1', password: 'pw-Err7', yaml: 'bgp: {sessions: [{a: x, b: y, password: pw-Yaml8}]}' });
    expect(sent.sort()).toEqual(['pw-Err7', 'pw-Yaml8']);
    expect(scrub('cannot use pw-Err7 for r1 (pw-Yaml8)', sent)).toBe('cannot use *** for r1 (***)');
    expect(secretsIn({ password: MASK })).toEqual([]);
  });
});
