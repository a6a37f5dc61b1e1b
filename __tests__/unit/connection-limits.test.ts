import { EventEmitter } from 'node:events';
import { ConnectionLimits, addressGroup } from '../../lib/admission/connection-limits.js';

function limitsOf(maxConnections: number, maxConnectionsPerIp: number, { maxRoomsPerIp = 25, ipv6PrefixLength = 64 } = {}): ConnectionLimits {
  return new ConnectionLimits({ maxConnections, maxConnectionsPerIp, maxRoomsPerIp, ipv6PrefixLength, defaultRoom: '' });
}

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
  const limits = limitsOf(100, 2);
  expect(limits.admit('2001:db8:1:2::a')).toBeUndefined();
  expect(limits.admit('2001:db8:1:2::b')).toBeUndefined();
  expect(limits.admit('2001:db8:1:2::c')?.status).toBe(429);
  expect(limits.admit('2001:db8:1:3::a')).toBeUndefined();
  limits.release('2001:db8:1:2::a');
  expect(limits.admit('2001:db8:1:2::d')).toBeUndefined();
});

test('the instance cap holds whatever the addresses', () => {
  const limits = limitsOf(3, 100);
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect(limits.admit(address)).toBeUndefined();
  expect(limits.admit('10.0.0.4')?.status).toBe(503);
  limits.release('10.0.0.2');
  expect(limits.admit('10.0.0.4')).toBeUndefined();
  // Releasing an address that holds nothing changes nothing.
  limits.release('10.9.9.9');
  expect(limits.admit('10.0.0.5')?.status).toBe(503);
});

test('an address with a port (as some platforms put in X-Forwarded-For) is the address without it', () => {
  expect(addressGroup('203.0.113.7:5678')).toBe('203.0.113.7');
  expect(addressGroup('[2001:db8:1:2::1]:5678')).toBe('2001:db8:1:2::/64');
  expect(addressGroup('[2001:db8:1:2::1]')).toBe('2001:db8:1:2::/64');
  expect(addressGroup('[::ffff:203.0.113.7]:80')).toBe('203.0.113.7');
  const limits = limitsOf(100, 2);
  expect(limits.admit('203.0.113.7:1000')).toBeUndefined();
  expect(limits.admit('203.0.113.7:1001')).toBeUndefined();
  expect(limits.admit('203.0.113.7:1002')?.status).toBe(429);
});

test('IPv6 clients are grouped by ipv6PrefixLength: one /48 holds 256 /56s, not 65 536 /64s', () => {
  expect(addressGroup('2001:db8:1:2:aaaa::1', 56)).toBe('2001:db8:1:0::/56');
  expect(addressGroup('2001:db8:1:2ff:aaaa::1', 56)).toBe('2001:db8:1:200::/56');
  expect(addressGroup('2001:db8:1:2ff::1', 48)).toBe('2001:db8:1::/48');
  expect(addressGroup('2001:db8:1:2::1', 128)).toBe('2001:db8:1:2:0:0:0:1/128');
  const limits = limitsOf(10_000, 2, { ipv6PrefixLength: 56 });
  expect(limits.admit('2001:db8:1:1::1')).toBeUndefined();
  expect(limits.admit('2001:db8:1:2::1')).toBeUndefined();
  // Another /64 of the same /56: the same client.
  expect(limits.admit('2001:db8:1:3::1')?.status).toBe(429);
  expect(limits.admit('2001:db8:1:100::1')).toBeUndefined();
});

test('one address holds streams in at most maxRoomsPerIp rooms besides the default one; more streams in a room it holds are fine', () => {
  const limits = limitsOf(10_000, 100, { maxRoomsPerIp: 2 });
  expect(limits.admit('10.0.0.1', 'a')).toBeUndefined();
  expect(limits.admit('10.0.0.1', 'b')).toBeUndefined();
  expect(limits.admit('10.0.0.1', 'a')).toBeUndefined();
  expect(limits.admit('10.0.0.1', '')).toBeUndefined();
  const refused = limits.admit('10.0.0.1', 'c');
  expect(refused?.status).toBe(429);
  expect(refused?.reason).toMatch(/pages/);
  expect(limits.admit('10.0.0.2', 'c')).toBeUndefined();
  limits.release('10.0.0.1', 'a');
  expect(limits.admit('10.0.0.1', 'c')?.status).toBe(429);
  limits.release('10.0.0.1', 'a');
  expect(limits.admit('10.0.0.1', 'c')).toBeUndefined();
});

test('IPv4-mapped IPv6 addresses in any spelling are their IPv4 address: hex-form ones do not share one bucket', () => {
  expect(addressGroup('::ffff:102:304', 56)).toBe('1.2.3.4');
  expect(addressGroup('::ffff:102:305', 56)).toBe('1.2.3.5');
  expect(addressGroup('0:0:0:0:0:ffff:cb00:7107', 56)).toBe('203.0.113.7');
  expect(addressGroup('0000:0000:0000:0000:0000:FFFF:203.0.113.7', 56)).toBe('203.0.113.7');
  expect(addressGroup('::FFFF:203.0.113.7', 56)).toBe('203.0.113.7');
  expect(addressGroup('[::ffff:cb00:7107]:443', 56)).toBe('203.0.113.7');
  // An IPv4 address written in the last 32 bits of another IPv6 address (NAT64) is IPv6.
  expect(addressGroup('64:ff9b::203.0.113.7', 128)).toBe('64:ff9b:0:0:0:0:cb00:7107/128');
  const limits = limitsOf(10_000, 1, { ipv6PrefixLength: 56 });
  expect(limits.admit('::ffff:102:304')).toBeUndefined();
  expect(limits.admit('::ffff:102:305')).toBeUndefined();
  expect(limits.admit('1.2.3.4')?.status).toBe(429);
});

test('a connection holds one close listener however often its place is taken and given back (a request refused after admission, retried)', () => {
  const limits = limitsOf(10, 10);
  const connection = new EventEmitter();
  for (let i = 0; i < 50; i++) {
    expect(limits.admitConnection('10.0.0.1', connection)).toBeUndefined();
    limits.releaseConnection(connection);
  }
  expect(connection.listenerCount('close')).toBeLessThanOrEqual(1);
  expect(limits.admitConnection('10.0.0.1', connection)).toBeUndefined();
  connection.emit('close');
  // Its place was given back: the instance cap of 10 has room for 10 others.
  for (let i = 0; i < 10; i++) expect(limits.admitConnection('10.0.0.1', new EventEmitter())).toBeUndefined();
});
