// The XGateway adapter against real sockets: which failures prove that a request never left.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { FailureTypes } from '../src/shared/contract.js';
import { createXGatewayClient } from '../src/xgateway/client.js';
import { XGatewayRequestRejectedError, XGatewayUnauthorizedError } from '../src/xgateway/errors.js';

const clientFor = (baseUrl: string) =>
  createXGatewayClient({ baseUrl, apiKey: 'k', postTimeoutMs: 2_000, getTimeoutMs: 2_000 });

/** A port that was just free and is closed now: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('XGateway client', () => {
  let server: Server;
  let url: string;
  let answer: (res: ServerResponse) => void = (res) => res.end();
  beforeAll(async () => {
    server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  it.each(['GET', 'POST'])('names a refused connection XGatewayNotReachedError (%s)', async (method) => {
    const xgateway = clientFor(`http://127.0.0.1:${await closedPort()}/api/v2`);
    const call = method === 'GET' ? xgateway.getKycStatus('c-1') : xgateway.startKycVerification('c-1');
    await expect(call).rejects.toMatchObject({ name: 'XGatewayNotReachedError' });
  });

  it('names a DNS failure XGatewayNotReachedError', async () => {
    await expect(clientFor('http://no-such-host.invalid/api/v2').startKycVerification('c-1')).rejects.toMatchObject({
      name: 'XGatewayNotReachedError',
    });
  });

  it('names a reset after connecting XGatewayNetworkError: the request may have arrived', async () => {
    answer = (res) => res.socket?.destroy();
    await expect(clientFor(url).startKycVerification('c-1')).rejects.toMatchObject({ name: 'XGatewayNetworkError' });
  });

  it('refuses a 2xx whose body says success false', async () => {
    answer = (res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ success: false, errors: [{ code: 'db_violation', message: 'no' }] }));
    await expect(clientFor(url).startKycVerification('c-1')).rejects.toMatchObject({
      name: 'XGatewayRequestRejectedError',
      vendorCode: 'db_violation',
    });
  });

  it('names a 403 on the POST XGatewayUnauthorizedError: not retried, a forbidden key does not fix itself', async () => {
    answer = (res) =>
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ success: false, errors: [{ code: 'forbidden', message: 'no' }] }));
    await expect(clientFor(url).startKycVerification('c-1')).rejects.toMatchObject({
      name: 'XGatewayUnauthorizedError',
      retryable: false,
      httpStatus: 403,
      vendorCode: 'forbidden',
    });
  });

  it('keeps a Retry-After longer than any retry policy interval', async () => {
    answer = (res) => res.writeHead(429, { 'retry-after': '3600' }).end();
    await expect(clientFor(url).getKycStatus('c-1')).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
  });
});

describe('FailureTypes', () => {
  it('names the adapter error classes that callers and retry policies match on', () => {
    expect(FailureTypes.unauthorized).toBe(XGatewayUnauthorizedError.name);
    expect(FailureTypes.requestRejected).toBe(XGatewayRequestRejectedError.name);
    expect(new XGatewayUnauthorizedError('x').name).toBe(FailureTypes.unauthorized);
    expect(new XGatewayRequestRejectedError('x').name).toBe(FailureTypes.requestRejected);
  });
});
