// The official openai SDK drives the happy paths of /v1/videos and /v1/models through videogate
// to the simulated vendor, and checks what the vendor received. Per dialect (DIALECTS: openai,
// unified, freesora, fal, replicate, kie, ark, minimax, dashscope, kling) the same scenarios
// run: create → poll → download, image-to-video, a job the vendor fails, and rotation past a
// rate-limited key; each prints `[dialect] …: <id> <final status>` lines (and, where a dialect
// has a describeJob, what only it does: MiniMax's three calls, Kling's JWT).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';

import {
  CLIENT_KEY,
  DIALECTS,
  LIMITED_CLIENT_KEY,
  assertNoSecrets,
  assertVideo,
  bodyValue,
  createsFor,
  dialectFaults,
  expectApiError,
  fixture,
  isRateLimitAnswer,
  keyLabel,
  loadSdk,
  naming,
  startStack,
  testWithLogs,
  targetPath,
  vendorJobId,
  waitForCompleted,
  waitForTerminal,
} from './harness.mjs';

const { OpenAI, NotFoundError, toFile } = await loadSdk();

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

/** What the mock says when it fails a fail-* key's job, in every dialect's shape. */
const MOCK_FAIL_REASON = 'The video could not be generated';

// Runs first (per dialect): while it runs, every job created before it is already terminal, so
// each vendor request from its create onwards belongs to this job.
for (const d of DIALECTS) {
  e2e(`[${d.dialect}] create without image, poll to completion, download video and thumbnail`, async () => {
    const prompt = uniquePrompt('A lighthouse at dusk, slow dolly in.');
    const { data: video, response } = await client.videos
      .create({ model: d.model, prompt, seconds: '8', size: '1280x720' })
      .withResponse();

    assertVideo(video);
    assert.ok(['queued', 'in_progress'].includes(video.status), `fresh job status: ${video.status}`);
    assert.equal(video.model, d.model);
    assert.equal(video.size, '1280x720');
    assert.equal(video.seconds, d.expectedSeconds);
    assert.equal(video.prompt, prompt);
    assert.equal(video.remixed_from_video_id, null);
    assert.match(String(response.headers.get('openai-poll-after-ms')), /^\d+$/, 'create answer carries openai-poll-after-ms');
    assert.ok(response.headers.get('x-request-id'), 'x-request-id on a success response');
    assert.match(String(response.headers.get('content-type')), /^application\/json/);

    const creates = createsFor(await stack.mockRequests(), prompt);
    assert.equal(creates.length, 1, `the vendor got exactly one create: ${JSON.stringify(creates)}`);
    const [create] = creates;
    d.checkCreate(create, { model: 'sora-2', prompt, seconds: '8', size: '1280x720', publicBaseUrl: stack.publicBaseUrl });
    assert.equal(create.key, d.key, 'create used the upstream key');

    const done = await waitForCompleted(client, video.id);
    assert.equal(done.model, d.model);
    assert.equal(done.size, '1280x720');
    assert.equal(done.seconds, d.expectedSeconds);
    assert.equal(done.prompt, prompt);
    assert.equal(done.created_at, video.created_at);

    const bytes = await downloadVideo(video.id);

    if (d.hasThumbnail) {
      const thumb = await client.videos.downloadContent(video.id, { variant: 'thumbnail' });
      assert.equal(thumb.status, 200);
      assert.match(String(thumb.headers.get('content-type')), /^image\/webp/);
      const thumbBytes = Buffer.from(await thumb.arrayBuffer());
      assert.ok(thumbBytes.equals(fixture('thumbnail.webp')), `thumbnail bytes differ from fixtures/thumbnail.webp (${thumbBytes.length} bytes)`);
    } else {
      // The vendor makes no thumbnail: a 404 that says which upstream lacks it.
      await expectApiError(client.videos.downloadContent(video.id, { variant: 'thumbnail' }), {
        status: 404,
        ErrorClass: NotFoundError,
        type: 'invalid_request_error',
        code: 'not_found',
        message: naming(d.upstream),
      });
    }

    // Polls and downloads use the key that created the job (vendors scope jobs to accounts).
    // Every job created before this one is terminal by now, so these are all about this job.
    const later = (await stack.mockRequests()).filter((r) => r.seq > create.seq && d.isJobRequest(r));
    assert.ok(later.length >= 1, 'the vendor was polled');
    for (const r of later) assert.equal(r.key, d.key, `${r.method} ${r.target} used key ${r.key}`);

    if (d.isKeylessRequest) {
      // Result URLs are public (a CDN): the gateway must not hand them any upstream key.
      const fetched = (await stack.mockRequests()).filter((r) => r.seq > create.seq && d.isKeylessRequest(r));
      assert.ok(fetched.length >= 1, 'the video was fetched from its result URL');
      for (const r of fetched) {
        assert.equal(r.key, null, `${r.method} ${r.target} carried key ${r.key}`);
        assert.ok(!Object.hasOwn(r.headers ?? {}, 'authorization'), `${r.method} ${r.target} carried an Authorization header`);
      }
    }
    let callback = '';
    if (d.callbacks && stack.publicBaseUrl) {
      // The vendor calls back when the job ends: through the public entrance to a gateway,
      // which answers 200 (and only polls, with the job's key, if it still needs to).
      const jobId = vendorJobId(create);
      const cb = await stack.waitForMockCallback((c) => c.job_id === jobId || JSON.stringify(c.body ?? null).includes(jobId));
      assert.ok(cb, `the vendor sent a callback for ${jobId}: ${JSON.stringify(await stack.mockCallbacks())}`);
      assert.ok(cb.url.startsWith(`${stack.publicBaseUrl}/callbacks/`), `callback URL ${cb.url}`);
      assert.equal(cb.state, 'delivered', `callback ${JSON.stringify(cb)}`);
      assert.equal(cb.status, 200, `callback ${JSON.stringify(cb)}`);
      const arrived = stack.publicRequests().filter((r) => r.method === 'POST' && r.path === new URL(cb.url).pathname);
      assert.ok(arrived.some((r) => r.status === 200), 'the callback reached the gateway through public_base_url');
      callback = `, callback "${cb.event}" answered ${cb.status}`;
    }
    console.log(
      `[${d.dialect}] create → poll → download: ${video.id} ${done.status}` +
        ` (vendor job ${vendorJobId(create)}, ${later.length} job requests, ${bytes.length} bytes${callback})`,
    );
    if (d.describeJob) console.log(`[${d.dialect}] create → poll → download: ${d.describeJob(await stack.mockRequests(), create)}`);
  });
}

/** Downloads a completed video through the SDK and checks it is fixtures/sample.mp4. */
async function downloadVideo(id) {
  const content = await client.videos.downloadContent(id);
  assert.equal(content.status, 200);
  assert.match(String(content.headers.get('content-type')), /^video\/mp4/);
  const bytes = Buffer.from(await content.arrayBuffer());
  assert.ok(bytes.equals(fixture('sample.mp4')), `video bytes differ from fixtures/sample.mp4 (${bytes.length} bytes)`);
  return bytes;
}

for (const d of DIALECTS) {
  e2e(`[${d.dialect}] image-to-video: an input_reference file upload reaches the vendor in its form`, async () => {
    const png = fixture('reference.png');
    const prompt = uniquePrompt('The cat from the picture walks away.');
    const video = await client.videos.create({
      model: d.model,
      prompt,
      seconds: '4',
      size: '720x1280',
      input_reference: await toFile(png, 'ref.png', { type: 'image/png' }),
    });
    assertVideo(video);
    assert.equal(video.model, d.model);
    assert.equal(video.seconds, d.expectedImageSeconds);
    assert.equal(video.size, '720x1280');

    const creates = createsFor(await stack.mockRequests(), prompt);
    assert.equal(creates.length, 1, `the vendor got exactly one create: ${JSON.stringify(creates)}`);
    const [create] = creates;
    assert.equal(create.key, d.key, 'create used the upstream key');
    await d.checkImageCreate(create, { prompt, png, publicBaseUrl: stack.publicBaseUrl });

    const done = await waitForCompleted(client, video.id);
    assert.equal(done.seconds, d.expectedImageSeconds);
    const bytes = await downloadVideo(video.id);
    console.log(
      `[${d.dialect}] image-to-video: ${video.id} ${done.status} (vendor job ${vendorJobId(create)}, ${bytes.length} bytes)`,
    );
  });

  e2e(`[${d.dialect}] a job the vendor fails is failed, with the vendor's reason in error.message`, async () => {
    const { fail } = dialectFaults(d);
    const prompt = uniquePrompt('A job the vendor will fail.');
    const video = await client.videos.create({ model: fail.model, prompt });
    assertVideo(video);
    assert.ok(['queued', 'in_progress'].includes(video.status), `fresh job status: ${video.status}`);

    const failed = await waitForTerminal(client, video.id);
    assert.equal(failed.status, 'failed', `a ${fail.key} job fails: ${JSON.stringify(failed)}`);
    const { code, message } = failed.error;
    assert.ok(code.length > 0, `error.code: ${JSON.stringify(failed.error)}`);

    // The reason is the vendor's own: an answer about this job (the fail upstream serves only
    // this test) that the mock logged carries it, in the dialect's own shape.
    const reason = MOCK_FAIL_REASON;
    assert.ok(message.includes(reason), `error.message "${message}" lacks the vendor's reason "${reason}"`);
    const requests = (await stack.mockRequests()).filter((r) => r.key === fail.key);
    const [create] = createsFor(requests, prompt);
    assert.ok(create, 'the vendor got the create');
    const told = requests.filter((r) => r.seq > create.seq && d.isJobRequest(r) && JSON.stringify(r.response).includes(reason));
    assert.ok(told.length >= 1, `no answer of the vendor carried "${reason}"`);
    assertNoSecrets(JSON.stringify(failed));

    // A failed job has no video.
    await expectApiError(client.videos.downloadContent(video.id), { status: 404 });
    console.log(`[${d.dialect}] failed job: ${video.id} ${failed.status} (${code}: ${message})`);
  });

  e2e(`[${d.dialect}] rotation: a rate-limited key is passed over, the next key makes the job`, async () => {
    const { rotation } = dialectFaults(d);
    const [limitedKey, goodKey] = rotation.keys;
    const prompt = uniquePrompt('A paper boat on a stream.');
    const video = await client.videos.create({ model: rotation.model, prompt, seconds: '8', size: '1280x720' });
    assertVideo(video);
    assert.equal(video.model, rotation.model);

    // This upstream's first create: a fresh round_robin pool tries its first key first.
    const creates = createsFor(await stack.mockRequests(), prompt);
    assert.deepEqual(
      creates.map((r) => r.key),
      [limitedKey, goodKey],
      `the create went to the rate-limited key, then to the good one: ${JSON.stringify(creates.map((r) => [r.key, r.response]))}`,
    );
    assert.ok(isRateLimitAnswer(creates[0]), `the first key was rate-limited: ${JSON.stringify(creates[0].response)}`);
    assert.ok(!isRateLimitAnswer(creates[1]), `the second key was not: ${JSON.stringify(creates[1].response)}`);

    const done = await waitForCompleted(client, video.id);
    await downloadVideo(video.id);
    // The job belongs to the good key: every poll and download uses it, never the cooling one.
    const later = (await stack.mockRequests()).filter((r) => r.seq > creates[1].seq && rotation.keys.includes(r.key));
    assert.ok(later.length >= 1, 'the vendor was polled');
    for (const r of later) assert.equal(r.key, goodKey, `${r.method} ${r.target} used key ${r.key}`);
    console.log(
      `[${d.dialect}] rotation: ${video.id} ${done.status} (${keyLabel(limitedKey)} answered a rate limit; ` +
        `${keyLabel(goodKey)} made vendor job ${vendorJobId(creates[1])})`,
    );
    if (d.describeJob) console.log(`[${d.dialect}] rotation: ${d.describeJob(await stack.mockRequests(), creates[1])}`);
  });
}

e2e('[openai] JSON request_format upstream gets application/json', async () => {
  const prompt = uniquePrompt('Waves on black sand, aerial shot.');
  const video = await client.videos.create({ model: 'sora-2-json', prompt, seconds: '8', size: '1280x720' });
  assertVideo(video);
  assert.equal(video.model, 'sora-2-json');

  const creates = createsFor(await stack.mockRequests(), prompt);
  assert.equal(creates.length, 1);
  const [create] = creates;
  assert.equal(targetPath(create.target), '/v1/videos');
  assert.match(String(create.content_type), /^application\/json/i);
  assert.equal(create.key, 'good-key-2');
  assert.ok(create.json && typeof create.json === 'object', 'the vendor parsed a JSON body');
  assert.equal(create.json.model, 'sora-2', 'public model name mapped to the upstream one');
  assert.equal(create.json.prompt, prompt);
  assert.equal(String(create.json.seconds), '8');
  assert.equal(create.json.size, '1280x720');

  await waitForCompleted(client, video.id);
});

e2e('list paginates with limit/after, auto-paginates, and orders asc/desc', async () => {
  const mine = [];
  for (const n of [1, 2, 3]) {
    const v = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt(`list job ${n}`) });
    mine.push(v.id);
  }
  const [a, b, c] = mine;

  const first = await client.videos.list({ limit: 2 });
  assert.equal(first.body.object, 'list');
  assert.equal(first.data.length, 2);
  assert.equal(first.has_more, true);
  assert.equal(first.body.first_id, first.data[0].id);
  assert.equal(first.body.last_id, first.data[1].id);
  first.data.forEach(assertVideo);
  // Newest first by default.
  assert.deepEqual(first.data.map((v) => v.id), [c, b]);

  assert.ok(first.hasNextPage());
  const second = await first.getNextPage();
  assert.ok(second.data.length >= 1);
  assert.equal(second.data[0].id, a, 'the page after the cursor starts right after it');

  const desc = [];
  for await (const v of client.videos.list({ limit: 2 })) desc.push(v);
  const descIds = desc.map((v) => v.id);
  assert.equal(new Set(descIds).size, descIds.length, 'no video appears twice across pages');
  for (const id of mine) assert.ok(descIds.includes(id), `${id} missing from auto-pagination`);
  for (let i = 1; i < desc.length; i++) assert.ok(desc[i - 1].created_at >= desc[i].created_at, 'desc by created_at');
  assert.ok(descIds.indexOf(c) < descIds.indexOf(b) && descIds.indexOf(b) < descIds.indexOf(a), 'desc order');

  const asc = [];
  for await (const v of client.videos.list({ limit: 2, order: 'asc' })) asc.push(v);
  const ascIds = asc.map((v) => v.id);
  for (let i = 1; i < asc.length; i++) assert.ok(asc[i - 1].created_at <= asc[i].created_at, 'asc by created_at');
  assert.ok(ascIds.indexOf(a) < ascIds.indexOf(b) && ascIds.indexOf(b) < ascIds.indexOf(c), 'asc order');
  assert.deepEqual(ascIds, [...descIds].reverse(), 'asc is exactly desc reversed');

  // Another client's list never shows these jobs.
  const limited = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: LIMITED_CLIENT_KEY, maxRetries: 0 });
  const theirs = [];
  for await (const v of limited.videos.list({ limit: 100 })) theirs.push(v.id);
  for (const id of mine) assert.ok(!theirs.includes(id), `${id} visible to another client`);
});

e2e('remix a completed video', async () => {
  const source = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt('A red kite over hills.') });
  await waitForCompleted(client, source.id);

  const remixPrompt = uniquePrompt('Same shot, but at night with fireworks.');
  const remix = await client.videos.remix(source.id, { prompt: remixPrompt });
  assertVideo(remix);
  assert.notEqual(remix.id, source.id);
  assert.equal(remix.remixed_from_video_id, source.id);
  assert.equal(remix.prompt, remixPrompt);
  assert.equal(remix.model, 'sora-2');
  assert.ok(['queued', 'in_progress'].includes(remix.status), `fresh remix status: ${remix.status}`);

  const sent = (await stack.mockRequests()).filter(
    (r) => r.method === 'POST' && /^\/v1\/videos\/[^/]+\/remix$/.test(targetPath(r.target)) && bodyValue(r, 'prompt') === remixPrompt,
  );
  assert.equal(sent.length, 1, 'the vendor got one remix call');
  assert.equal(sent[0].key, 'good-key-1', 'remix uses the key of the source job');

  const done = await waitForCompleted(client, remix.id);
  assert.equal(done.remixed_from_video_id, source.id);
});

e2e('delete a video; it is gone afterwards', async () => {
  const video = await client.videos.create({ model: 'sora-2', prompt: uniquePrompt('Delete me.') });
  await waitForCompleted(client, video.id);

  const deleted = await client.videos.delete(video.id);
  assert.deepEqual(
    { id: deleted.id, object: deleted.object, deleted: deleted.deleted },
    { id: video.id, object: 'video.deleted', deleted: true },
  );

  await expectApiError(client.videos.retrieve(video.id), {
    status: 404,
    ErrorClass: NotFoundError,
    type: 'invalid_request_error',
    code: 'not_found',
  });
  const listed = [];
  for await (const v of client.videos.list({ limit: 100 })) listed.push(v.id);
  assert.ok(!listed.includes(video.id), 'a deleted video is not listed');
});

e2e('GET /v1/models lists the public models, owned by videogate', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  const ids = models.map((m) => m.id);
  const expected = [
    ...['sora-2', 'sora-2-pro', 'sora-2-json', 'sora-2-rl', 'sora-2-garbage', 'sora-2-slow'],
    ...['sora-2-unified-nourl', 'sora-2-fs-bad', 'sora-2-fs-rl', 'sora-2-pro-freesora'],
    ...DIALECTS.flatMap((d) => [d.model, dialectFaults(d).fail.model, dialectFaults(d).rotation.model]),
  ];
  for (const id of expected) {
    assert.ok(ids.includes(id), `models list lacks ${id}: ${ids.join(', ')}`);
  }
  assert.equal(new Set(ids).size, ids.length, 'no model listed twice');
  for (const m of models) {
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'videogate');
  }
  assertNoSecrets(JSON.stringify(models));
});
