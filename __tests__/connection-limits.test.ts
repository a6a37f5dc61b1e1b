import { ConnectionLimits, addressGroup } from '../lib/connection-limits.js';

test('IPv6 addresses are capped per /64, IPv4 (also mapped into IPv6) per address', () => {
  expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
  expect(addressGroup('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
  expect(addressGroup('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
  expect(addressGroup('::1')).toBe('0:0:0:0::/64');
  expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
  expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
});

test('one client varying the low bits of its IPv6 /64 still meets the per-address cap', () => {
  const limits = new ConnectionLimits(100, 2);
  expect(limits.admit('2001:db8:1:2::a')).toBeUndefined();
  expect(limits.admit('2001:db8:1:2::b')).toBeUndefined();
  expect(limits.admit('2001:db8:1:2::c')?.status).toBe(429);
  expect(limits.admit('2001:db8:1:3::a')).toBeUndefined();
  limits.release('2001:db8:1:2::a');
  expect(limits.admit('2001:db8:1:2::d')).toBeUndefined();
});

test('the instance cap holds whatever the addresses', () => {
  const limits = new ConnectionLimits(3, 100);
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect(limits.admit(address)).toBeUndefined();
  expect(limits.admit('10.0.0.4')?.status).toBe(503);
  limits.release('10.0.0.2');
  expect(limits.admit('10.0.0.4')).toBeUndefined();
  // Releasing an address that holds nothing changes nothing.
  limits.release('10.9.9.9');
  expect(limits.admit('10.0.0.5')?.status).toBe(503);
});
