import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ResponseBody } from '../../lib/stream/response-body.js';
import { eventually } from '../helpers/time.js';

// A stream's body written straight to its socket once the head is out: the bytes on the wire are
// what res.write would have sent, and it never writes where res.write would not.

type Handler = (res: http.ServerResponse, body: ResponseBody) => void;

/** A server whose one response `handle` writes; returns every byte the client received once the connection closed. */
async function exchange(handle: Handler, request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.setHeader('Connection', 'close');
    const body = new ResponseBody(res);
    res.write('head+first ');
    body.headSent();
    handle(res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.write(request);
    await new Promise((resolve) => socket.on('close', resolve));
    return received.slice(received.indexOf('\r\n\r\n') + 4);
  } finally {
    server.close();
  }
}

test('a chunked body: each write is one chunk, as res.write frames it, and end() closes the coding after them', async () => {
  const got = await exchange((res, body) => {
    body.write(Buffer.from('frame one'));
    const bytes = Buffer.from('frame two');
    body.write(bytes, Buffer.from(`${bytes.length.toString(16)}\r\nframe two\r\n`));
    res.end();
  });
  expect(got).toBe('b\r\nhead+first \r\n9\r\nframe one\r\n9\r\nframe two\r\n0\r\n\r\n');
});

test('an HTTP/1.0 body (no chunked coding): the bytes as they are, until the connection closes', async () => {
  const got = await exchange((res, body) => {
    body.write(Buffer.from('frame one'), Buffer.from('9\r\nframe one\r\n'));
    res.end();
  }, 'GET / HTTP/1.0\r\n\r\n');
  expect(got).toBe('head+first frame one');
});

test('once the app has ended the response, nothing more is written: writable is false at once', async () => {
  let writableAfterEnd: boolean | undefined;
  const got = await exchange((res, body) => {
    res.end();
    writableAfterEnd = body.writable;
  });
  expect(writableAfterEnd).toBe(false);
  expect(got).toBe('b\r\nhead+first \r\n0\r\n\r\n');
});

test('a response some middleware encodes (Content-Encoding set) keeps to res.write, which that middleware wraps', async () => {
  const encoded: string[] = [];
  const server = http.createServer((_req, res) => {
    res.setHeader('Connection', 'close');
    res.setHeader('Content-Encoding', 'x-upper');
    const body = new ResponseBody(res);
    res.write('head ');
    const write = res.write.bind(res) as (chunk: Buffer) => boolean;
    res.write = ((chunk: Buffer) => {
      encoded.push(chunk.toString());
      return write(Buffer.from(chunk.toString().toUpperCase()));
    }) as typeof res.write;
    body.headSent();
    body.write(Buffer.from('frame'));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => received.endsWith('0\r\n\r\n'), 'the end of the encoded body');
    socket.destroy();
    expect(encoded).toEqual(['frame']);
    expect(received).toContain('5\r\nFRAME\r\n');
  } finally {
    server.close();
  }
});
