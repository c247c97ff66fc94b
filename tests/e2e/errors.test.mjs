// The error table of DESIGN §1 as the official openai SDK sees it (status, type, code, param),
// plus the unauthenticated probes and x-request-id.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import {
  CLIENT_KEY,
  LIMITED_CLIENT_KEY,
  assertNoSecrets,
  assertVideo,
  createsFor,
  expectApiError,
  expectUpstreamRateLimited,
  isCreateOf,
  loadSdk,
  startStack,
  testWithLogs,
} from './harness.mjs';

const {
  OpenAI,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
  toFile,
} = await loadSdk();

let stack;
let client;
let limited;

before(async () => {
  stack = await startStack();
  client = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: CLIENT_KEY, maxRetries: 0 });
  limited = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: LIMITED_CLIENT_KEY, maxRetries: 0 });
});

const e2e = testWithLogs(() => stack);

after(async () => {
  await stack?.stop();
});

const uniquePrompt = (what) => `${what} ${randomUUID()}`;

const badRequest = (code, param) => ({
  status: 400,
  ErrorClass: BadRequestError,
  type: 'invalid_request_error',
  code,
  param,
});

/**
 * A plain HTTP call, for what the SDK cannot send (wrong content type, no auth, own headers);
 * spread over the replicas like the SDK's calls in fleet mode.
 */
async function raw(pathname, { method = 'GET', headers = {}, body } = {}) {
  const res = await (stack.fetch ?? fetch)(`${stack.gatewayUrl}${pathname}`, { method, headers, body });
  const text = await res.text();
  assertNoSecrets(text);
  return { res, text };
}

function parseErrorBody(text) {
  const body = JSON.parse(text);
  assert.ok(body.error && typeof body.error.message === 'string', `OpenAI error envelope: ${text}`);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(Object.hasOwn(body.error, k), `error lacks "${k}": ${text}`);
  return body.error;
}

// --- 400 -----------------------------------------------------------------------------------------

e2e('400 unknown_parameter names the unknown field', async () => {
  // The SDK sends any extra body key as one more multipart field.
  await expectApiError(
    client.videos.create({ model: 'sora-2', prompt: uniquePrompt('x'), foo: 'x' }),
    badRequest('unknown_parameter', 'foo'),
  );
});

e2e('400 missing_required_parameter without a prompt', async () => {
  await expectApiError(client.videos.create({ model: 'sora-2' }), badRequest('missing_required_parameter', 'prompt'));
});

e2e('400 invalid_value for a malformed size', async () => {
  await expectApiError(
    client.videos.create({ model: 'sora-2', prompt: uniquePrompt('x'), size: 'banana' }),
    badRequest('invalid_value', 'size'),
  );
});

e2e('400 unsupported_value: sora-2 cannot make 1792x1024', async () => {
  await expectApiError(
    client.videos.create({ model: 'sora-2', prompt: uniquePrompt('x'), size: '1792x1024' }),
    badRequest('unsupported_value', 'size'),
  );
});

e2e('400 unsupported_value: 30 seconds is above what the upstream makes', async () => {
  const err = await expectApiError(
    client.videos.create({ model: 'sora-2', prompt: uniquePrompt('x'), seconds: '30' }),
    badRequest('unsupported_value', 'seconds'),
  );
  assert.match(err.error.message, /20/, 'the message lists the allowed durations');
});

e2e('400 model_not_found lists the models that exist', async () => {
  const err = await expectApiError(client.videos.create({ model: 'sora-9000', prompt: uniquePrompt('x') }), {
    status: 400,
    ErrorClass: BadRequestError,
    type: 'invalid_request_error',
    code: 'model_not_found',
  });
  assert.match(err.error.message, /sora-2/);
});

e2e('400 invalid_value for a list limit above 100', async () => {
  await expectApiError(client.videos.list({ limit: 101 }), badRequest('invalid_value', 'limit'));
});

// --- 401 / 403 -----------------------------------------------------------------------------------

e2e('401 invalid_api_key for a wrong client key', async () => {
  const stranger = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: 'not-a-client-key', maxRetries: 0 });
  await expectApiError(stranger.videos.list(), {
    status: 401,
    ErrorClass: AuthenticationError,
    type: 'authentication_error',
    code: 'invalid_api_key',
  });
});

e2e('401 without an Authorization header', async () => {
  const { res, text } = await raw('/v1/videos');
  assert.equal(res.status, 401);
  const error = parseErrorBody(text);
  assert.equal(error.type, 'authentication_error');
  assert.equal(error.code, 'invalid_api_key');
});

e2e('403 model_not_allowed for a client limited to other models', async () => {
  await expectApiError(limited.videos.create({ model: 'sora-2-pro', prompt: uniquePrompt('x') }), {
    status: 403,
    ErrorClass: PermissionDeniedError,
    type: 'permission_error',
    code: 'model_not_allowed',
  });
});

// --- 404 -----------------------------------------------------------------------------------------

const notFound = { status: 404, ErrorClass: NotFoundError, type: 'invalid_request_error', code: 'not_found' };

e2e('404 for an unknown id', async () => {
  await expectApiError(client.videos.retrieve('video_doesnotexist'), notFound);
  await expectApiError(client.videos.downloadContent('video_doesnotexist'), notFound);
  await expectApiError(client.videos.delete('video_doesnotexist'), notFound);
});

e2e('404 for a real id with one character changed', async () => {
  const video = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt('tamper target') });
  assertVideo(video);
  assertVideo(await client.videos.retrieve(video.id)); // the untouched id works

  // A middle character: all six of its bits are payload (the last one may only hold padding).
  const i = Math.floor((video.id.length + 'video_'.length) / 2);
  const swapped = video.id[i] === 'A' ? 'B' : 'A';
  const tampered = video.id.slice(0, i) + swapped + video.id.slice(i + 1);
  assert.notEqual(tampered, video.id);
  await expectApiError(client.videos.retrieve(tampered), notFound);
});

e2e("404 for another client's id", async () => {
  const video = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt('not yours') });
  assertVideo(video);
  await expectApiError(limited.videos.retrieve(video.id), notFound);
  await expectApiError(limited.videos.downloadContent(video.id), notFound);
  await expectApiError(limited.videos.delete(video.id), notFound);
  assertVideo(await client.videos.retrieve(video.id)); // still there for its owner
});

e2e('404 not_found for an unknown route', async () => {
  const { res, text } = await raw('/v1/nonexistent', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  assert.equal(res.status, 404);
  const error = parseErrorBody(text);
  assert.equal(error.code, 'not_found');
});

// --- 413 / 415 -----------------------------------------------------------------------------------

e2e('413 for a body above limits.max_body_bytes', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x41);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big); // PNG magic: size is the only fault
  const prompt = uniquePrompt('too big');
  await expectApiError(
    client.videos.create({ model: 'sora-2', prompt, input_reference: await toFile(big, 'big.png', { type: 'image/png' }) }),
    { status: 413, type: 'invalid_request_error' },
  );
  assert.equal(createsFor(await stack.mockRequests(), prompt).length, 0, 'nothing reached the vendor');
});

e2e('415 for a create that is neither JSON nor multipart', async () => {
  const { res, text } = await raw('/v1/videos', {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'text/plain' },
    body: 'prompt=a cat',
  });
  assert.equal(res.status, 415);
  assert.match(String(res.headers.get('content-type')), /^application\/json/);
  assert.equal(parseErrorBody(text).type, 'invalid_request_error');
});

// --- Idempotency-Key (DESIGN §4) -----------------------------------------------------------------

e2e('the same Idempotency-Key is one job across re-encoded retries; another body with it is 422', async () => {
  const key = `idem-${randomUUID()}`;
  const params = { model: 'sora-2', prompt: uniquePrompt('idempotent create'), seconds: '4' };
  // The OpenAI client has no idempotency header of its own: applications send it themselves.
  const withKey = { headers: { 'Idempotency-Key': key } };
  const first = await client.videos.create(params, withKey);
  assertVideo(first);
  // The SDK sends multipart with a new boundary each time: the same create all the same.
  const again = await client.videos.create({ ...params }, withKey);
  assert.equal(again.id, first.id);
  await expectApiError(client.videos.create({ ...params, prompt: uniquePrompt('another create') }, withKey), {
    status: 422,
    ErrorClass: UnprocessableEntityError,
    type: 'invalid_request_error',
    code: 'idempotency_key_reused',
    param: 'Idempotency-Key',
  });
});

// --- upstream faults -----------------------------------------------------------------------------

e2e('422 upstream_rejected when the vendor refuses the content', async () => {
  await expectApiError(client.videos.create({ model: 'sora-2', prompt: uniquePrompt('[reject] something the vendor refuses') }), {
    status: 422,
    ErrorClass: UnprocessableEntityError,
    type: 'upstream_error',
    code: 'upstream_rejected',
  });
});

e2e('429 upstream_rate_limited with Retry-After when every key cools down', async () => {
  await expectUpstreamRateLimited(client.videos.create({ model: 'sora-2-rl', prompt: uniquePrompt('rate limited') }), RateLimitError);
});

e2e('502 bad_upstream_response when the vendor answers garbage', async () => {
  await expectApiError(client.videos.create({ model: 'sora-2-garbage', prompt: uniquePrompt('garbage') }), {
    status: 502,
    ErrorClass: InternalServerError,
    type: 'upstream_error',
    code: 'bad_upstream_response',
  });
});

e2e('504 upstream_timeout on a slow create says the job may exist, and is not retried', async () => {
  const prompt = uniquePrompt('slow vendor');
  await expectApiError(client.videos.create({ model: 'sora-2-slow', prompt }), {
    status: 504,
    ErrorClass: InternalServerError,
    type: 'upstream_error',
    code: 'upstream_timeout',
    message: /may\b.*\bexist/i,
  });
  // The mock may log a request only once it has answered it (after --slow-ms): wait, bounded.
  const creates = await stack.waitForMockRequests(isCreateOf(prompt));
  assert.equal(creates.length, 1, 'a create that timed out after sending is not sent again');
});

// --- probes and request ids ----------------------------------------------------------------------

e2e('GET /healthz and /readyz answer 200 without auth', async () => {
  for (const probe of ['/healthz', '/readyz']) {
    const { res } = await raw(probe);
    assert.equal(res.status, 200, probe);
    assert.ok(res.headers.get('x-request-id'), `${probe} carries x-request-id`);
  }
});

e2e('x-request-id is echoed when sent and generated otherwise', async () => {
  const mine = `e2e-${randomUUID()}`;
  const echoed = await raw('/v1/models', { headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-request-id': mine } });
  assert.equal(echoed.res.status, 200);
  assert.equal(echoed.res.headers.get('x-request-id'), mine);

  const first = await raw('/v1/models', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  const second = await raw('/v1/models', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  const a = first.res.headers.get('x-request-id');
  const b = second.res.headers.get('x-request-id');
  assert.ok(a && b, 'generated x-request-id present');
  assert.notEqual(a, b, 'each request gets its own id');

  // Error responses carry it as well.
  const failed = await raw('/v1/videos/video_doesnotexist', {
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-request-id': mine },
  });
  assert.equal(failed.res.status, 404);
  assert.equal(failed.res.headers.get('x-request-id'), mine);
});
