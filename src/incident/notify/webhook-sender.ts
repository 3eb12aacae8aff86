import { request } from 'undici';

/** Slack-compatible incoming-webhook body (also accepted by Mattermost, Rocket.Chat, Teams workflows). */
export interface WebhookMessage {
  text: string;
  blocks?: unknown[];
}

export type WebhookSender = (message: WebhookMessage, options: { idempotencyKey: string }) => Promise<void>;

/**
 * Posts JSON to the configured webhook. A non-2xx answer is an error (the outbox retries it). The
 * idempotency key travels as a header so a receiver can drop a redelivery after a crash.
 */
export function createWebhookSender(url: string, timeoutMs: number): WebhookSender {
  return async (message, { idempotencyKey }) => {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': 'gatehouse-incident' },
      body: JSON.stringify(message),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
    if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`webhook answered HTTP ${response.statusCode}`);
  };
}
