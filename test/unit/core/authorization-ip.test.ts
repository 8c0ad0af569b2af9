import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileIpAllowlist,
  ipAllowlistFor,
  isValidAllowlistEntry,
  parseSourceIp,
} from '../../../lambdas/core/ip-allowlist.js';

describe('source IPs as gateways report them', () => {
  it('reads `192.168.0.1/32` (the REST proxy sample) as its address', () => {
    expect(parseSourceIp('192.168.0.1/32')).toEqual({ address: '192.168.0.1', family: 'ipv4' });
    expect(parseSourceIp('2001:db8::1/128')).toEqual({ address: '2001:db8::1', family: 'ipv6' });
  });

  it('reads `test-invoke-source-ip` (the console Test button) and other junk as no address', () => {
    for (const raw of ['test-invoke-source-ip', '', '::g', '1.2.3', '999.1.1.1', undefined]) {
      expect(parseSourceIp(raw)).toBeUndefined();
    }
  });
});

describe('IP allowlists', () => {
  const allowlist = compileIpAllowlist(['10.0.0.0/8', '192.168.0.1', '2001:db8::/32']);

  it('matches IPv4 CIDRs, bare addresses and IPv6 CIDRs', () => {
    expect(allowlist.allows('10.255.255.255')).toBe(true);
    expect(allowlist.allows('11.0.0.0')).toBe(false);
    expect(allowlist.allows('192.168.0.1')).toBe(true);
    expect(allowlist.allows('192.168.0.1/32')).toBe(true);
    expect(allowlist.allows('192.168.0.2')).toBe(false);
    expect(allowlist.allows('2001:db8:ffff::1')).toBe(true);
    expect(allowlist.allows('2001:db9::1')).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 address against IPv4 entries', () => {
    expect(allowlist.allows('::ffff:10.1.2.3')).toBe(true);
  });

  it('never lets an unparseable source in, and never throws', () => {
    expect(allowlist.allows('test-invoke-source-ip')).toBe(false);
    expect(allowlist.allows(undefined)).toBe(false);
    fc.assert(
      fc.property(fc.string(), (raw) => {
        expect(typeof allowlist.allows(raw)).toBe('boolean');
      }),
    );
  });

  it('is open to any address when empty', () => {
    expect(compileIpAllowlist([]).allows('test-invoke-source-ip')).toBe(true);
    expect(ipAllowlistFor([]).allows(undefined)).toBe(true);
  });

  it('treats invalid entries as matching nothing: a list of only invalid entries allows no one', () => {
    const broken = compileIpAllowlist(['not-a-cidr', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/']);
    expect(broken.allows('10.0.0.1')).toBe(false);
    expect(['not-a-cidr', '10.0.0.0/33', '::/129', '1.2.3.4/x'].map(isValidAllowlistEntry)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(['0.0.0.0/0', '::/0', '1.2.3.4', '1.2.3.4/32'].map(isValidAllowlistEntry)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('caches compiled lists per container with the same answers', () => {
    const first = ipAllowlistFor(['10.0.0.0/8']);
    expect(ipAllowlistFor(['10.0.0.0/8'])).toBe(first);
    expect(first.allows('10.0.0.1')).toBe(true);
  });
});
