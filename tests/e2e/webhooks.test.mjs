// Signed completion webhooks (DESIGN §9) as an application receives them: a node:http receiver,
// and the official SDK's `client.webhooks.unwrap(body, headers)` with the client's
// `webhookSecret`, unchanged, for a completed job and for a failed one; a wrong secret (or a
// touched body) throws InvalidWebhookSignatureError. During a secret rotation both secrets
// verify. In fleet mode the events come from whichever replica delivers them.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import {
  CLIENT_KEY,
  LIMITED_CLIENT_KEY,
  assertNoSecrets,
  loadSdk,
  startStack,
  startWebhookReceiver,
  testWithLogs,
  upstream,
  waitForCompleted,
  waitForTerminal,
} from './harness.mjs';

const { OpenAI, InvalidWebhookSignatureError } = await loadSdk();

/** A Standard Webhooks secret: `whsec_` + base64 of random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const APP_SECRET = newSecret();
// The `limited` client is in the middle of a rotation: both secrets sign.
const LIMITED_SECRET = newSecret();
const LIMITED_PREVIOUS_SECRET = newSecret();
const WRONG_SECRET = newSecret();

let stack;
let receiver;
let client;
let limited;

before(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({
    upstreams: (mockUrl) => [
      upstream(mockUrl, { name: 'mock-openai', keys: ['good-key-1'], models: { 'sora-2': 'sora-2' } }),
      // The mock ends every job of a fail-* key failed ("generation_failed").
      upstream(mockUrl, { name: 'mock-failing', keys: ['fail-key-1'], models: { 'sora-2-failing': 'sora-2' } }),
    ],
    webhooks: {
      clients: {
        app: { url: receiver.url('/hooks/app'), secret: APP_SECRET },
        limited: {
          url: receiver.url('/hooks/limited'),
          secret: LIMITED_SECRET,
          previous_secret: LIMITED_PREVIOUS_SECRET,
        },
      },
    },
  });
  client = new OpenAI({
    baseURL: stack.baseURL,
    fetch: stack.fetch,
    apiKey: CLIENT_KEY,
    webhookSecret: APP_SECRET,
    maxRetries: 0,
  });
  limited = new OpenAI({
    baseURL: stack.baseURL,
    fetch: stack.fetch,
    apiKey: LIMITED_CLIENT_KEY,
    webhookSecret: LIMITED_SECRET,
    maxRetries: 0,
  });
});

const e2e = testWithLogs(() => stack);

after(async () => {
  await stack?.stop();
  await receiver?.close();
});

const uniquePrompt = (what) => `${what} ${randomUUID()}`;

/** The `data.id` of a received event (undefined for anything else). */
function videoIdOf(delivery) {
  try {
    return JSON.parse(delivery.body)?.data?.id;
  } catch {
    return undefined;
  }
}

/**
 * The deliveries of the event about `videoId` on `path`, once one has come (15 s at most).
 * Delivery is at least once: any repeat must be the same event, same webhook-id, same bytes.
 */
async function deliveriesOf(videoId, path) {
  const found = await receiver.waitFor((r) => videoIdOf(r) === videoId);
  assert.ok(
    found.length >= 1,
    `no webhook about ${videoId} within 15 s; the receiver got: ${JSON.stringify(receiver.requests.map((r) => r.body))}`,
  );
  for (const d of found) {
    assert.equal(d.method, 'POST');
    assert.equal(d.path, path, 'the client\'s own webhook URL');
    assert.match(String(d.headers['content-type']), /^application\/json/);
    assert.equal(d.headers['webhook-id'], found[0].headers['webhook-id'], 'one webhook-id for the event, every attempt');
    assert.equal(d.body, found[0].body, 'the same bytes on every attempt');
    assertNoSecrets(d.body);
  }
  return found;
}

/** The checks of an unwrapped event of `type` about `videoId`, delivered as `delivery`. */
function assertEvent(event, { type, videoId, delivery }) {
  assert.equal(event.object, 'event');
  assert.equal(event.type, type);
  assert.equal(event.data.id, videoId);
  assert.match(event.id, /^evt_/);
  assert.equal(event.id, delivery.headers['webhook-id'], 'webhook-id is the event id');
  assert.ok(Number.isInteger(event.created_at), `created_at in unix seconds: ${delivery.body}`);
  assert.ok(Math.abs(event.created_at - Date.now() / 1000) < 600, `created_at is now: ${delivery.body}`);
}

e2e('a completed job: webhooks.unwrap() with the client\'s webhookSecret accepts its video.completed event', async () => {
  const video = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt('A lighthouse at dusk.'), seconds: '4' });
  await waitForCompleted(client, video.id);
  const [delivery] = await deliveriesOf(video.id, '/hooks/app');

  const event = await client.webhooks.unwrap(delivery.body, delivery.headers);
  console.log('webhooks.unwrap() of the completed job\'s event:', event);
  assertEvent(event, { type: 'video.completed', videoId: video.id, delivery });
  // The secret as unwrap's third argument, instead of the client option, does the same.
  assert.deepEqual(await client.webhooks.unwrap(delivery.body, delivery.headers, APP_SECRET), event);

  await assert.rejects(client.webhooks.unwrap(delivery.body, delivery.headers, WRONG_SECRET), InvalidWebhookSignatureError);
  const touched = delivery.body.replace('video.completed', 'video.failed');
  assert.notEqual(touched, delivery.body);
  await assert.rejects(client.webhooks.unwrap(touched, delivery.headers), InvalidWebhookSignatureError);
});

e2e('a failed job: webhooks.unwrap() accepts its video.failed event; a wrong secret throws', async () => {
  const video = await client.videos.create({
    model: 'sora-2-failing',
    prompt: uniquePrompt('A storm over the sea.'),
    seconds: '4',
  });
  const failed = await waitForTerminal(client, video.id);
  assert.equal(failed.status, 'failed', `the fail-* key's job failed: ${JSON.stringify(failed)}`);
  const [delivery] = await deliveriesOf(video.id, '/hooks/app');

  const event = await client.webhooks.unwrap(delivery.body, delivery.headers);
  console.log('webhooks.unwrap() of the failed job\'s event:', event);
  assertEvent(event, { type: 'video.failed', videoId: video.id, delivery });

  await assert.rejects(client.webhooks.unwrap(delivery.body, delivery.headers, WRONG_SECRET), InvalidWebhookSignatureError);
  await assert.rejects(limited.webhooks.unwrap(delivery.body, delivery.headers), InvalidWebhookSignatureError, 'another client\'s secret');
});

e2e('during a rotation (previous_secret set) the event verifies with the new and the previous secret', async () => {
  const video = await limited.videos.create({ model: 'sora-2', prompt: uniquePrompt('A red kite.'), seconds: '4' });
  await waitForCompleted(limited, video.id);
  const [delivery] = await deliveriesOf(video.id, '/hooks/limited');

  const signatures = String(delivery.headers['webhook-signature']).split(' ');
  assert.equal(signatures.length, 2, `two signatures: ${delivery.headers['webhook-signature']}`);
  for (const s of signatures) assert.match(s, /^v1,[A-Za-z0-9+/]+={0,2}$/);
  const event = await limited.webhooks.unwrap(delivery.body, delivery.headers);
  assertEvent(event, { type: 'video.completed', videoId: video.id, delivery });
  assert.deepEqual(await limited.webhooks.unwrap(delivery.body, delivery.headers, LIMITED_PREVIOUS_SECRET), event);
  console.log('webhooks.unwrap() during a rotation (new and previous secret):', event);
  await assert.rejects(limited.webhooks.unwrap(delivery.body, delivery.headers, APP_SECRET), InvalidWebhookSignatureError);
});
