/** A local HTTP receiver standing in for a chat webhook: records every JSON body and its headers. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  body: { text?: string; blocks?: unknown[] } & Record<string, unknown>;
  idempotencyKey: string | undefined;
  contentType: string | undefined;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  /** Answer with this status (500 to make deliveries fail). */
  status: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', received: [], status: 200, close: async () => {} };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += String(chunk)));
    req.on('end', () => {
      if (receiver.status === 200) {
        receiver.received.push({ body: JSON.parse(body) as ReceivedHook['body'], idempotencyKey: req.headers['idempotency-key'] as string | undefined, contentType: req.headers['content-type'] });
      }
      res.statusCode = receiver.status;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/incident`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}
