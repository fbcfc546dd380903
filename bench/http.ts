// A lean JSON client for the sandbox and the receiver. node:http with keep-alive costs the bench process less CPU per
// request than fetch, and on two cores the bench's own overhead would otherwise show up in the receiver's figures.
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface JsonResponse {
  status: number;
  body: unknown;
}

export function requestJson(method: string, url: string, body?: unknown): Promise<JsonResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? parse(text) : undefined }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Fails with the answer in the message, for calls that must succeed (control API set-up). */
export async function expectOk(method: string, url: string, body?: unknown): Promise<unknown> {
  const response = await requestJson(method, url, body);
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`${method} ${url} -> ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body;
}
