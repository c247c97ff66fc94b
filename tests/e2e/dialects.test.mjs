// What only the unified and freesora dialects do, as the official openai SDK sees it:
// storyboards (freesora), calls those vendors do not have (remix, delete), their limits (sizes,
// durations) and their faults (freesora's HTTP-200 errors, unified's missing video_url). The
// scenarios every dialect shares (create → poll → download, image-to-video with the exact
// translated body, a failed job, key rotation) run per dialect in videos.test.mjs.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import {
  CLIENT_KEY,
  DIALECTS,
  assertVideo,
  createsFor,
  expectApiError,
  expectUpstreamRateLimited,
  fixture,
  loadSdk,
  naming,
  startStack,
  targetPath,
  testWithLogs,
  waitForCompleted,
} from './harness.mjs';

const { OpenAI, BadRequestError, InternalServerError, NotFoundError, RateLimitError, UnprocessableEntityError } =
  await loadSdk();

let stack;
let client;

before(async () => {
  stack = await startStack();
  client = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: CLIENT_KEY, maxRetries: 0 });
});

const e2e = testWithLogs(() => stack);

after(async () => {
  await stack?.stop();
});

const uniquePrompt = (what) => `${what} ${randomUUID()}`;
const dialect = (name) => DIALECTS.find((d) => d.dialect === name);
const UNIFIED = dialect('unified');
const FREESORA = dialect('freesora');

/** The seq of the last request the vendor received (0 if none): later ones come after it. */
async function lastSeq() {
  const all = await stack.mockRequests();
  return all.length ? all[all.length - 1].seq : 0;
}

async function requestsAfter(seq) {
  return (await stack.mockRequests()).filter((r) => r.seq > seq);
}

const FREESORA_CREATE = '/api/v1/video/sora-pro';

// --- calls these vendors do not have, and their limits -------------------------------------------

for (const d of [UNIFIED, FREESORA]) {
  e2e(`[${d.dialect}] remix is 400 unsupported_value naming the upstream; nothing reaches the vendor`, async () => {
    const source = await client.videos.create({ model: d.model, prompt: uniquePrompt('A red kite over hills.') });
    await waitForCompleted(client, source.id);

    const before = await lastSeq();
    const remixPrompt = uniquePrompt('Same shot, but at night.');
    await expectApiError(client.videos.remix(source.id, { prompt: remixPrompt }), {
      status: 400,
      ErrorClass: BadRequestError,
      type: 'invalid_request_error',
      code: 'unsupported_value',
      message: naming(d.upstream),
    });
    const sent = (await requestsAfter(before)).filter((r) => !d.isJobRequest(r));
    assert.deepEqual(sent, [], 'a remix the vendor cannot do is not sent to it');
    assertVideo(await client.videos.retrieve(source.id)); // the source is untouched
  });

  e2e(`[${d.dialect}] delete forgets the job without calling the vendor; it is 404 afterwards`, async () => {
    const video = await client.videos.create({ model: d.model, prompt: uniquePrompt('Delete me.') });
    await waitForCompleted(client, video.id);

    const before = await lastSeq();
    const deleted = await client.videos.delete(video.id);
    assert.deepEqual(
      { id: deleted.id, object: deleted.object, deleted: deleted.deleted },
      { id: video.id, object: 'video.deleted', deleted: true },
    );
    const sent = await requestsAfter(before);
    assert.deepEqual(
      sent.filter((r) => r.method === 'DELETE' || !d.isJobRequest(r)),
      [],
      'the vendor has no delete call: nothing is sent to it',
    );

    const notFound = { status: 404, ErrorClass: NotFoundError, type: 'invalid_request_error', code: 'not_found' };
    await expectApiError(client.videos.retrieve(video.id), notFound);
    await expectApiError(client.videos.downloadContent(video.id), notFound);
    const listed = [];
    for await (const v of client.videos.list({ limit: 100 })) listed.push(v.id);
    assert.ok(!listed.includes(video.id), 'a deleted video is not listed');
  });

  e2e(`[${d.dialect}] sora-2 cannot make 1792x1024: 400 unsupported_value (size)`, async () => {
    const prompt = uniquePrompt('too wide');
    await expectApiError(client.videos.create({ model: d.model, prompt, size: '1792x1024' }), {
      status: 400,
      ErrorClass: BadRequestError,
      type: 'invalid_request_error',
      code: 'unsupported_value',
      param: 'size',
    });
    assert.equal(createsFor(await stack.mockRequests(), prompt).length, 0, 'nothing reached the vendor');
  });

  e2e(`[${d.dialect}] 30 seconds: 400 unsupported_value listing 10 and 15`, async () => {
    const prompt = uniquePrompt('too long');
    const err = await expectApiError(client.videos.create({ model: d.model, prompt, seconds: '30' }), {
      status: 400,
      ErrorClass: BadRequestError,
      type: 'invalid_request_error',
      code: 'unsupported_value',
      param: 'seconds',
    });
    assert.match(err.error.message, /\b10\b/, 'the message lists 10');
    assert.match(err.error.message, /\b15\b/, 'the message lists 15');
    assert.equal(createsFor(await stack.mockRequests(), prompt).length, 0, 'nothing reached the vendor');
  });
}

// --- freesora storyboards (issue 4) --------------------------------------------------------------

const SHOTS = [
  { scene: 'Establishing shot of a city skyline at dusk', duration: 5 },
  { scene: 'Close-up of a runner splashing through puddles', duration: 5 },
];

/**
 * Sends a storyboard create with `send()`, then checks the Video object, that the vendor got
 * exactly seed 003's storyboard body, and that the job completes and downloads.
 */
async function checkStoryboard(send) {
  const before = await lastSeq();
  const video = await send();
  assertVideo(video);
  assert.equal(video.model, 'sora-2-pro-freesora');
  assert.equal(video.size, '1280x720');
  assert.equal(video.seconds, '10', 'without seconds: the shots’ total (10 s)');

  const creates = (await requestsAfter(before)).filter((r) => r.method === 'POST' && targetPath(r.target) === FREESORA_CREATE);
  assert.equal(creates.length, 1, `the vendor got exactly one create: ${JSON.stringify(creates)}`);
  const [create] = creates;
  assert.equal(create.key, FREESORA.key);
  assert.match(String(create.content_type), /^application\/json/i);
  // Seed 003's storyboard example: capital-S Scene, integer durations, no prompt, no removeWatermark.
  const expected = {
    model: 'sora-2-pro-storyboard',
    shots: [
      { Scene: 'Establishing shot of a city skyline at dusk', duration: 5 },
      { Scene: 'Close-up of a runner splashing through puddles', duration: 5 },
    ],
    aspectRatio: 'landscape',
    nFrames: '10',
  };
  assert.deepEqual(create.json, expected);
  // Parsed, 5 and 5.0 (or 5e0) look alike; the body's length tells them apart (compact JSON,
  // so the length does not depend on the key order).
  assert.equal(create.body_bytes, Buffer.byteLength(JSON.stringify(expected)), 'durations are written as integers: 5, not 5.0');

  const done = await waitForCompleted(client, video.id);
  assert.equal(done.seconds, '10');
  const content = await client.videos.downloadContent(video.id);
  assert.equal(content.status, 200);
  const bytes = Buffer.from(await content.arrayBuffer());
  assert.ok(bytes.equals(fixture('sample.mp4')), `video bytes differ from fixtures/sample.mp4 (${bytes.length} bytes)`);
}

e2e('[freesora] storyboard through the SDK: shots as multipart bracket fields', async () => {
  // The SDK sends fields it has no type for as they are; in multipart, an array of objects
  // becomes shots[][scene], shots[][duration], … (openai/internal/uploads.js addFormValue).
  await checkStoryboard(() =>
    client.videos.create({ model: 'sora-2-pro-freesora', prompt: 'storyboard', size: '1280x720', shots: SHOTS }),
  );
});

e2e('[freesora] storyboard through the SDK: shots as one JSON string field', async () => {
  await checkStoryboard(() =>
    client.videos.create({ model: 'sora-2-pro-freesora', prompt: 'storyboard', size: '1280x720', shots: JSON.stringify(SHOTS) }),
  );
});

e2e('[freesora] storyboard as an application/json create', async () => {
  // What the SDKs sent before they switched to multipart.
  await checkStoryboard(async () => {
    const res = await (stack.fetch ?? fetch)(`${stack.baseURL}/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sora-2-pro-freesora', prompt: 'storyboard', size: '1280x720', shots: SHOTS }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  });
});

// --- faults --------------------------------------------------------------------------------------

e2e('[freesora] an HTTP-200 "invalid key" refuses the only key: 503 no_upstream_available', async () => {
  const prompt = uniquePrompt('bad key');
  await expectApiError(client.videos.create({ model: 'sora-2-fs-bad', prompt }), {
    status: 503,
    ErrorClass: InternalServerError,
    type: 'upstream_error',
    code: 'no_upstream_available',
  });
  const creates = createsFor(await stack.mockRequests(), prompt);
  assert.equal(creates.length, 1, 'the key was tried once');
  assert.equal(creates[0].key, 'bad-freesora');
});

e2e('[freesora] an HTTP-200 "too many requests": 429 upstream_rate_limited with Retry-After', async () => {
  await expectUpstreamRateLimited(client.videos.create({ model: 'sora-2-fs-rl', prompt: uniquePrompt('rate limited') }), RateLimitError);
});

e2e('[freesora] an HTTP-200 moderation refusal: 422 upstream_rejected with the vendor’s message', async () => {
  await expectApiError(
    client.videos.create({ model: FREESORA.model, prompt: uniquePrompt('[reject] something the vendor refuses') }),
    {
      status: 422,
      ErrorClass: UnprocessableEntityError,
      type: 'upstream_error',
      code: 'upstream_rejected',
      message: /moderation/i,
    },
  );
});

e2e('[unified] a completed job without video_url: content is 502 bad_upstream_response', async () => {
  const video = await client.videos.create({ model: 'sora-2-unified-nourl', prompt: uniquePrompt('no url') });
  await waitForCompleted(client, video.id);
  await expectApiError(client.videos.downloadContent(video.id), {
    status: 502,
    ErrorClass: InternalServerError,
    type: 'upstream_error',
    code: 'bad_upstream_response',
    message: naming('mock-unified-nourl'),
  });
});
