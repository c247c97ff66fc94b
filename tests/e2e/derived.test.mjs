// The official openai SDK's calls that start from a video: `videos.edit` (POST /v1/videos/edits),
// `videos.extend` (POST /v1/videos/extensions), `videos.createCharacter` and
// `videos.getCharacter` (/v1/videos/characters). By one of our video ids, an edit or extension
// goes to the upstream and key that made the source, with the vendor's own id in place of ours
// (multipart `video[id]`, or `{"video":{"id"}}` for a JSON-format upstream); by an uploaded
// file, it is routed like a create. Characters get the gateway's own signed `char_` id, which
// only the client that made it can read. Another dialect (unified) has none of these calls:
// 400 `unsupported_value` naming the upstream, and the vendor gets nothing.

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
  defaultUpstreams,
  expectApiError,
  fixture,
  loadSdk,
  naming,
  startStack,
  targetPath,
  testWithLogs,
  vendorJobId,
  waitForCompleted,
} from './harness.mjs';

const { OpenAI, BadRequestError, NotFoundError, toFile } = await loadSdk();

const UNIFIED = DIALECTS.find((d) => d.dialect === 'unified');

let stack;
let client;

before(async () => {
  // mock-openai (sora-2, multipart, good-key-1), mock-json (sora-2-json, JSON, good-key-2) and
  // mock-unified (sora-2-unified, good-unified-1).
  stack = await startStack({
    upstreams: (mockUrl) => [
      ...defaultUpstreams(mockUrl).filter((u) => u.name === 'mock-openai' || u.name === 'mock-json'),
      ...UNIFIED.upstreams(mockUrl),
    ],
  });
  client = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: CLIENT_KEY, maxRetries: 0 });
});

const e2e = testWithLogs(() => stack);

after(async () => {
  await stack?.stop();
});

const uniquePrompt = (what) => `${what} ${randomUUID()}`;

const sampleMp4 = () => toFile(fixture('sample.mp4'), 'sample.mp4', { type: 'video/mp4' });

/** The vendor paths of the calls under test. */
const isDerivedPath = (r) => /^\/v1\/videos\/(edits|extensions|characters)(\/|$)/.test(targetPath(r.target));

/** `GET /_mock/<what>` (jobs, characters) as an array. */
async function mockList(what) {
  const res = await fetch(`${stack.mockUrl}/_mock/${what}`);
  assert.equal(res.status, 200, `GET /_mock/${what}`);
  const body = await res.json();
  return Array.isArray(body) ? body : (body.data ?? body[what] ?? []);
}

/** A completed source video on `model`; returns it with the vendor's create request. */
async function completedSource(model, what) {
  const prompt = uniquePrompt(what);
  const video = await client.videos.create({ model, prompt });
  assertVideo(video);
  const [create, ...more] = createsFor(await stack.mockRequests(), prompt);
  assert.ok(create && more.length === 0, 'the vendor got exactly one create');
  const done = await waitForCompleted(client, video.id);
  return { video: done, create, vendorId: vendorJobId(create) };
}

/** Downloads a completed video through the SDK: non-empty and an MP4 (`ftyp` at offset 4). */
async function downloadMp4(id) {
  const content = await client.videos.downloadContent(id);
  assert.equal(content.status, 200);
  const bytes = Buffer.from(await content.arrayBuffer());
  assert.ok(bytes.length > 0, 'the download has bytes');
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'the download starts like an MP4');
  return bytes;
}

/** The one POST the vendor got at `path` carrying `prompt`. */
async function vendorCall(path, prompt) {
  const sent = (await stack.mockRequests()).filter(
    (r) => r.method === 'POST' && targetPath(r.target) === path && bodyValue(r, 'prompt') === prompt,
  );
  assert.equal(sent.length, 1, `the vendor got one POST ${path}: ${JSON.stringify(sent)}`);
  return sent[0];
}

/** A fresh Video object for a job derived from `source`. */
function assertDerived(v, source, prompt) {
  assertVideo(v);
  assert.notEqual(v.id, source.id, 'a new gateway id');
  assert.ok(['queued', 'in_progress'].includes(v.status), `fresh job status: ${v.status}`);
  assert.equal(v.model, source.model, 'the source model');
  assert.equal(v.size, source.size, 'the source size');
  assert.equal(v.prompt, prompt);
  assert.equal(v.remixed_from_video_id, null);
  assertNoSecrets(JSON.stringify(v));
}

e2e('[openai] edit by id: same upstream and key as the source, the vendor id, polls and downloads', async () => {
  const source = await completedSource('sora-2', 'A red kite over hills.');
  console.log(`[edit] source ${source.video.id}: vendor id ${source.vendorId}, create key ${source.create.key}`);
  assert.ok(source.vendorId && source.vendorId !== source.video.id, 'the vendor has its own id');

  const prompt = uniquePrompt('Make the kite blue.');
  const edit = await client.videos.edit({ prompt, video: { id: source.video.id } });
  assertDerived(edit, source.video, prompt);

  const sent = await vendorCall('/v1/videos/edits', prompt);
  console.log(
    `[edit] vendor got: ${sent.method} ${sent.target} key=${sent.key} content_type=${String(sent.content_type).split(';')[0]}` +
      ` form=${JSON.stringify(sent.form)} files=${JSON.stringify(sent.files)}`,
  );
  assert.match(String(sent.content_type), /^multipart\/form-data/i);
  assert.equal(bodyValue(sent, 'video[id]'), source.vendorId, "the vendor's own id of the source, not ours");
  assert.deepEqual(Object.keys(sent.form).sort(), ['prompt', 'video[id]']);
  assert.deepEqual(sent.files, []);
  assert.ok(!JSON.stringify(sent).includes(source.video.id), 'our id never reaches the vendor');
  assert.equal(sent.key, source.create.key, 'the edit uses the key of the source job');
  assert.equal(sent.key, 'good-key-1');

  const job = (await mockList('jobs')).find((j) => j.request_seq === sent.seq);
  assert.ok(job, 'the vendor made a job of the edit');
  assert.equal(job.request?.edit_of, source.vendorId);
  assert.equal(job.key, source.create.key);
  assert.equal(job.id, vendorJobId(sent));

  const done = await waitForCompleted(client, edit.id);
  assert.equal(done.model, source.video.model);
  const bytes = await downloadMp4(edit.id);
  console.log(
    `[edit] ${edit.id} ${done.status} (vendor job ${job.id}, edit_of ${job.request.edit_of}, key ${job.key}, ${bytes.length} bytes)`,
  );
});

e2e('[openai] extend by id with seconds 8: the vendor id, the same key, seconds as the vendor answers', async () => {
  const source = await completedSource('sora-2', 'A paper boat on a stream.');
  const prompt = uniquePrompt('The boat drifts under a bridge.');
  const ext = await client.videos.extend({ prompt, seconds: '8', video: { id: source.video.id } });
  assertDerived(ext, source.video, prompt);
  assert.equal(ext.seconds, '8', 'the seconds the vendor answered');

  const sent = await vendorCall('/v1/videos/extensions', prompt);
  console.log(`[extend] vendor got: ${sent.method} ${sent.target} key=${sent.key} form=${JSON.stringify(sent.form)}`);
  assert.equal(bodyValue(sent, 'video[id]'), source.vendorId);
  assert.equal(bodyValue(sent, 'seconds'), '8');
  assert.equal(sent.key, source.create.key, 'the extension uses the key of the source job');
  const job = (await mockList('jobs')).find((j) => j.request_seq === sent.seq);
  assert.ok(job, 'the vendor made a job of the extension');
  assert.equal(job.request?.extension_of, source.vendorId);
  assert.equal(String(job.request?.extension_seconds), '8');

  const done = await waitForCompleted(client, ext.id);
  assert.equal(done.seconds, '8');
  const bytes = await downloadMp4(ext.id);
  console.log(`[extend] ${ext.id} ${done.status} seconds ${done.seconds} (extension_of ${job.request.extension_of}, ${bytes.length} bytes)`);
});

e2e('[openai, JSON format] edit by id reaches the vendor as {"video":{"id":<vendor id>}}', async () => {
  const source = await completedSource('sora-2-json', 'Waves on black sand.');
  const prompt = uniquePrompt('Waves at sunset.');
  const edit = await client.videos.edit({ prompt, video: { id: source.video.id } });
  assertDerived(edit, source.video, prompt);
  const sent = await vendorCall('/v1/videos/edits', prompt);
  console.log(`[edit json] vendor got: ${sent.method} ${sent.target} key=${sent.key} json=${JSON.stringify(sent.json)}`);
  assert.match(String(sent.content_type), /^application\/json/i);
  assert.deepEqual(sent.json, { prompt, video: { id: source.vendorId } });
  assert.equal(sent.key, source.create.key);
  assert.equal(sent.key, 'good-key-2');
  await waitForCompleted(client, edit.id);
});

e2e('[openai] edit and extend an uploaded MP4; a PNG is 400 invalid_value video', async () => {
  const mp4 = fixture('sample.mp4');
  const prompt = uniquePrompt('Add falling snow.');
  const edit = await client.videos.edit({ prompt, video: await sampleMp4() });
  assertVideo(edit);
  assert.equal(edit.model, 'sora-2', 'an upload routes like a create (default sora-2)');
  assert.equal(edit.remixed_from_video_id, null);
  const sent = await vendorCall('/v1/videos/edits', prompt);
  assert.equal(sent.key, 'good-key-1');
  assert.equal(sent.files.length, 1, `one file part: ${JSON.stringify(sent.files)}`);
  assert.equal(sent.files[0].name, 'video');
  assert.equal(sent.files[0].size, mp4.length, 'the upload reached the vendor whole');
  assert.equal(bodyValue(sent, 'video[id]'), undefined);
  console.log(`[edit upload] vendor got: ${sent.method} ${sent.target} key=${sent.key} form=${JSON.stringify(sent.form)} files=${JSON.stringify(sent.files)}`);
  const done = await waitForCompleted(client, edit.id);
  await downloadMp4(edit.id);

  const extPrompt = uniquePrompt('Keep going.');
  const ext = await client.videos.extend({ prompt: extPrompt, seconds: '4', video: await sampleMp4() });
  assertVideo(ext);
  assert.equal(ext.model, 'sora-2');
  assert.equal(ext.seconds, '4');
  await waitForCompleted(client, ext.id);
  const extSent = await vendorCall('/v1/videos/extensions', extPrompt);
  assert.equal(extSent.files[0]?.name, 'video');
  assert.equal(bodyValue(extSent, 'seconds'), '4');
  console.log(`[upload] edit ${edit.id} ${done.status}; extend ${ext.id} seconds ${ext.seconds}`);

  const before = (await stack.mockRequests()).length;
  const png = await toFile(fixture('reference.png'), 'frame.png', { type: 'image/png' });
  const err = await expectApiError(client.videos.edit({ prompt: uniquePrompt('Not a video.'), video: png }), {
    status: 400,
    ErrorClass: BadRequestError,
    code: 'invalid_value',
    param: 'video',
  });
  // Bytes decide, not the declared type: a PNG named .mp4 is refused too.
  const disguised = await toFile(fixture('reference.png'), 'frame.mp4', { type: 'video/mp4' });
  await expectApiError(client.videos.extend({ prompt: uniquePrompt('Not a video.'), seconds: '4', video: disguised }), {
    status: 400,
    code: 'invalid_value',
    param: 'video',
  });
  assert.equal((await stack.mockRequests()).length, before, 'the vendor got nothing for the refused uploads');
  console.log(`[upload] PNG → ${err.status} ${err.code} param ${err.param}: ${err.error.message}`);
});

e2e('[openai] createCharacter → getCharacter; another client and a forged id get 404', async () => {
  const name = `Captain ${randomUUID().slice(0, 8)}`;
  const ch = await client.videos.createCharacter({ name, video: await sampleMp4() });
  assert.deepEqual(Object.keys(ch).sort(), ['created_at', 'id', 'name']);
  assert.match(ch.id, /^char_[A-Za-z0-9_-]+$/);
  assert.equal(ch.name, name);
  assert.ok(Number.isInteger(ch.created_at) && Math.abs(ch.created_at - Date.now() / 1000) < 3600, `created_at ${ch.created_at}`);

  const made = (await mockList('characters')).filter((c) => c.name === name);
  assert.equal(made.length, 1, `the vendor made one character: ${JSON.stringify(made)}`);
  const [vendorChar] = made;
  assert.notEqual(ch.id, vendorChar.id, "our signed id, not the vendor's");
  assert.equal(vendorChar.key, 'good-key-1');
  assert.equal(vendorChar.video_size, fixture('sample.mp4').length);
  console.log(`[character] ${ch.id} "${ch.name}" (vendor ${vendorChar.id}, key ${vendorChar.key})`);

  const got = await client.videos.getCharacter(ch.id);
  assert.deepEqual(got, { id: ch.id, created_at: ch.created_at, name });
  const read = (await stack.mockRequests()).filter(
    (r) => r.method === 'GET' && targetPath(r.target) === `/v1/videos/characters/${vendorChar.id}`,
  );
  assert.equal(read.length, 1, 'getCharacter read the vendor character by its own id');
  assert.equal(read[0].key, vendorChar.key, 'with the key that made it');

  // A completed video of an earlier test, if any (read before the count: a list may not poll).
  const video = (await client.videos.list({ limit: 1 })).data[0];
  const before = (await stack.mockRequests()).length;
  // The limited client may use sora-2 (the character's model), but the character is not its own.
  const limited = new OpenAI({ baseURL: stack.baseURL, fetch: stack.fetch, apiKey: LIMITED_CLIENT_KEY, maxRetries: 0 });
  await expectApiError(limited.videos.getCharacter(ch.id), { status: 404, ErrorClass: NotFoundError, code: 'not_found' });

  // One character changed in the middle of the signed part.
  const i = 'char_'.length + Math.floor((ch.id.length - 'char_'.length) / 2);
  const forged = ch.id.slice(0, i) + (ch.id[i] === 'A' ? 'B' : 'A') + ch.id.slice(i + 1);
  assert.notEqual(forged, ch.id);
  await expectApiError(client.videos.getCharacter(forged), { status: 404, ErrorClass: NotFoundError, code: 'not_found' });
  // The vendor's own id is no id of ours either.
  await expectApiError(client.videos.getCharacter(vendorChar.id), { status: 404, ErrorClass: NotFoundError });
  // A video id is no character id, and a character id is no video id.
  if (video) await expectApiError(client.videos.getCharacter(video.id), { status: 404, ErrorClass: NotFoundError });
  await expectApiError(client.videos.retrieve(ch.id), { status: 404, ErrorClass: NotFoundError });
  assert.equal((await stack.mockRequests()).length, before, 'the 404s reached no vendor');
  console.log(`[character] another client → 404; forged ${forged} → 404; vendor id, a video id → 404`);
});

e2e('[unified] edit, extend and createCharacter: 400 unsupported_value naming the upstream, nothing sent', async () => {
  const source = await completedSource(UNIFIED.model, 'A lighthouse at dusk.');
  const before = (await stack.mockRequests()).length;
  const refused = async (call, what) => {
    const err = await expectApiError(call, {
      status: 400,
      ErrorClass: BadRequestError,
      type: 'invalid_request_error',
      code: 'unsupported_value',
      message: naming(UNIFIED.upstream),
    });
    assert.match(err.error.message, new RegExp(`\\b${what}\\b`), `the message names the call: ${err.error.message}`);
    console.log(`[unified] ${what}: ${err.status} ${err.code} param ${err.param}: ${err.error.message}`);
    return err;
  };
  await refused(client.videos.edit({ prompt: uniquePrompt('Edit it.'), video: { id: source.video.id } }), 'edits');
  await refused(
    client.videos.extend({ prompt: uniquePrompt('Extend it.'), seconds: '8', video: { id: source.video.id } }),
    'extensions',
  );
  // An upload routes by `model` (a videogate extension to the SDK's params, sent as a form field).
  await refused(client.videos.edit({ prompt: uniquePrompt('Edit it.'), video: await sampleMp4(), model: UNIFIED.model }), 'edits');
  await refused(client.videos.createCharacter({ name: 'Nobody', video: await sampleMp4(), model: UNIFIED.model }), 'characters');

  const after = (await stack.mockRequests()).slice(before);
  assert.deepEqual(
    after.filter((r) => r.method !== 'GET' || isDerivedPath(r)).map((r) => `${r.method} ${r.target}`),
    [],
    'the vendor got no request for the refused calls',
  );
  assert.equal((await mockList('characters')).filter((c) => c.name === 'Nobody').length, 0);
});
