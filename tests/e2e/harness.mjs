// Harness for the end-to-end suite: starts the simulated vendor and the real videogate binary
// on loopback (port 0), writes a throwaway config, and stops only the processes it started.
//
// Fleet mode (VIDEOGATE_E2E_FLEET=1, DESIGN §10): a redis-server of its own on a free loopback
// port in the temp dir, and two videogate replicas reading one config (store.kind: redis, a
// per-run prefix, one ids.secret); `stack.fetch` sends each call to the next replica in turn.
//
// Only node built-ins are imported here, so a missing node_modules is reported by loadSdk()
// with a clear message instead of a module-resolution stack trace.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export const HERE = path.dirname(fileURLToPath(import.meta.url));

// Env values are taken relative to the working directory (as a shell user would expect);
// the defaults are relative to tests/e2e, which is also CTest's working directory.
function envPath(name, fallback) {
  const value = process.env[name];
  return value ? path.resolve(process.cwd(), value) : path.resolve(HERE, fallback);
}

export const VIDEOGATE_BIN = envPath('VIDEOGATE_BIN', '../../build/videogate');
export const VIDEOGATE_MOCK_BIN = envPath(
  'VIDEOGATE_MOCK_BIN',
  '../../build/tests/support/mock_vendor/videogate-mock-vendor',
);
export const FIXTURES_DIR = envPath('VIDEOGATE_FIXTURES_DIR', '../fixtures');

const START_TIMEOUT_MS = Number(process.env.VIDEOGATE_E2E_START_TIMEOUT_MS ?? 10_000);
const STOP_TIMEOUT_MS = 5_000;
const VERBOSE = process.env.VIDEOGATE_E2E_VERBOSE === '1';

/** Two replicas on one Redis instead of one gateway on SQLite. */
export const FLEET = process.env.VIDEOGATE_E2E_FLEET === '1';
export const FLEET_REPLICAS = 2;
const REDIS_START_ATTEMPTS = 5;

export const CLIENT_KEY = 'test-client-key';
export const LIMITED_CLIENT_KEY = 'limited-client-key';
export const ID_SECRET = 'e2e-secret-0123456789abcdef-0123456';

/** The upstream keys of the default stack outside DIALECTS (UPSTREAM_KEYS adds theirs). */
const OTHER_UPSTREAM_KEYS = [
  'good-key-1',
  'good-key-2',
  'ratelimit-1',
  'garbage-1',
  'slow-1',
  'fail-key-1',
  'good-unified-1',
  'nourl-unified',
  'good-freesora-1',
  'bad-freesora',
  'ratelimit-freesora',
];

// ---------------------------------------------------------------------------------------------
// The SDK

/**
 * Imports the pinned `openai` package, failing with instructions when `npm ci` has not run
 * (or when node_modules holds another version than package-lock.json pins).
 */
export async function loadSdk() {
  const installed = path.join(HERE, 'node_modules', 'openai', 'package.json');
  if (!existsSync(installed)) {
    throw new Error(
      `The openai SDK is not installed (${installed} is missing). ` +
        `Run \`npm ci\` in ${HERE} first.`,
    );
  }
  const lock = JSON.parse(readFileSync(path.join(HERE, 'package-lock.json'), 'utf8'));
  const pinned = lock.packages?.['node_modules/openai']?.version;
  const version = JSON.parse(readFileSync(installed, 'utf8')).version;
  if (pinned && version !== pinned) {
    throw new Error(
      `node_modules holds openai ${version} but package-lock.json pins ${pinned}: ` +
        `run \`npm ci\` in ${HERE}.`,
    );
  }
  return import('openai');
}

// ---------------------------------------------------------------------------------------------
// Fixtures

export function fixture(name) {
  const file = path.join(FIXTURES_DIR, name);
  assert.ok(existsSync(file), `fixture ${file} is missing (set VIDEOGATE_FIXTURES_DIR?)`);
  return readFileSync(file);
}

// ---------------------------------------------------------------------------------------------
// Upstreams and dialects

/**
 * One upstream config entry on the mock: `fields` (name, keys, models, ...) over the settings
 * every simulated upstream shares (dialect openai, multipart, poll_interval 250ms, timeout 2s).
 * For test files that bring their own `upstreams` to startStack.
 */
export function upstream(mockUrl, fields) {
  const dialect = fields.dialect ?? 'openai';
  return {
    name: fields.name,
    dialect,
    base_url: mockUrl,
    // Only the openai dialect has a choice of request format.
    request_format: dialect === 'openai' ? 'multipart' : undefined,
    poll_interval: '250ms',
    timeout: '2s',
    ...fields,
  };
}

/**
 * The upstreams of the default stack. Each serves its own public model names, so the default
 * routes (model → every upstream that maps it) send each model to exactly one upstream.
 * Fault upstreams are picked by the key they carry (the mock scripts faults per key).
 */
export function defaultUpstreams(mockUrl) {
  return [
    upstream(mockUrl, {
      name: 'mock-openai',
      keys: ['good-key-1'],
      models: { 'sora-2': 'sora-2', 'sora-2-pro': 'sora-2-pro' },
    }),
    upstream(mockUrl, { name: 'mock-ratelimited', keys: ['ratelimit-1'], models: { 'sora-2-rl': 'sora-2' } }),
    upstream(mockUrl, { name: 'mock-garbage', keys: ['garbage-1'], models: { 'sora-2-garbage': 'sora-2' } }),
    upstream(mockUrl, { name: 'mock-slow', keys: ['slow-1'], timeout: '1s', models: { 'sora-2-slow': 'sora-2' } }),
    upstream(mockUrl, {
      name: 'mock-json',
      request_format: 'json',
      keys: ['good-key-2'],
      models: { 'sora-2-json': 'sora-2' },
    }),
    // Faults of the unified and freesora dialects, one upstream (and model) each.
    upstream(mockUrl, {
      name: 'mock-unified-nourl',
      dialect: 'unified',
      keys: ['nourl-unified'],
      models: { 'sora-2-unified-nourl': 'sora-2' },
    }),
    upstream(mockUrl, { name: 'mock-freesora-bad', dialect: 'freesora', keys: ['bad-freesora'], models: { 'sora-2-fs-bad': 'sora-2' } }),
    upstream(mockUrl, {
      name: 'mock-freesora-rl',
      dialect: 'freesora',
      keys: ['ratelimit-freesora'],
      models: { 'sora-2-fs-rl': 'sora-2' },
    }),
  ];
}

// The vendor models the four model makers' upstreams map their public models to.
const ARK_MODEL = 'doubao-seedance-1-0-pro-250528';
const MINIMAX_MODEL = 'MiniMax-Hailuo-02';
// Wan's text-to-video and image-to-video models are different models (`*t2v*` / `*i2v*`).
const DASHSCOPE_MODELS = { text: 'wan2.5-t2v-preview', image: 'wan2.5-i2v-preview' };
const KLING_MODEL = 'kling-v2-1';

/** A key for the output: a Kling pair shows its access key only (`AK:…`), never the secret. */
export function keyLabel(key) {
  const k = String(key);
  return k.includes(':') ? `${k.slice(0, k.indexOf(':'))}:…` : k;
}

/** A Kling key as the config holds it, `ACCESS_KEY:SECRET_KEY`, by the mock's rule secret = "sk-" + access key. */
export function klingKey(accessKey) {
  return `${accessKey}:sk-${accessKey}`;
}

/**
 * One entry per dialect. The same scenarios run against each (videos.test.mjs):
 * create → poll → download, image-to-video, a job the vendor fails (its reason reaches
 * `error.message`), and a create that rotates past a rate-limited key.
 *
 * To add a dialect: push an entry with
 * - `dialect`, `upstream` (its main upstream's name), `model` (a public model name that only
 *   that upstream maps, so the default route picks it), `key` (the upstream's one key) and
 *   `vendorModel` (what `models:` maps `model` to: a string or `{ text, image }`);
 * - `upstreams(mockUrl)`: the main upstream's config entries (appended to the stack's
 *   config); `faultUpstreams()` adds `<upstream>-fail` (model `<model>-fail`, key
 *   `fail-<dialect>-1`: the mock fails its jobs) and `<upstream>-rotation` (model
 *   `<model>-rotation`, keys `ratelimit-<dialect>-rot` then `good-<dialect>-rot`) on its own;
 * - `expectedSeconds` / `expectedImageSeconds`: what videogate reports for the text scenario's
 *   8 s and the image scenario's 4 s; `hasThumbnail: false` when a thumbnail is a 404 naming
 *   `upstream`;
 * - `checkCreate(req, { model, prompt, seconds, size, publicBaseUrl })` and
 *   `checkImageCreate(req, { prompt, png, publicBaseUrl })` (may be async): assert the
 *   translated creates the mock recorded;
 * - `isJobRequest(req)`: the vendor requests about an existing job (polls, result fetches,
 *   downloads), which must carry the creating key; and, for dialects whose results are
 *   fetched from a URL without the key, `isKeylessRequest` (those downloads carry no key);
 * - `callbacks: true` when the vendor takes a callback URL (with public_base_url set, the
 *   scenario then waits for the vendor's callback to reach the gateway and be answered 200);
 * - `keyFor(name)` when a config key is more than a name (Kling: `name:sk-name`, the mock's
 *   secret rule): the fault upstreams' keys go through it, and the mock logs that whole key;
 * - `describeJob(requests, create)` (optional): asserts what only this vendor does with a job
 *   (MiniMax's third call, Kling's JWT) from the mock's log and returns a line for the output.
 * Its keys reach UPSTREAM_KEYS through dialectKeys().
 */
export const DIALECTS = [
  {
    dialect: 'openai',
    upstream: 'mock-openai',
    model: 'sora-2',
    key: 'good-key-1',
    vendorModel: 'sora-2',
    upstreams: () => [], // mock-openai is part of defaultUpstreams()
    // What videogate reports for the scenario's request (seconds '8', size '1280x720').
    expectedSeconds: '8',
    expectedImageSeconds: '4',
    hasThumbnail: true,
    // Requests about an existing job (status polls, downloads): they must carry the job's key.
    isJobRequest: (r) => r.method === 'GET' && /^\/v1\/videos\/[^/]+(\/content)?$/.test(targetPath(r.target)),
    checkCreate(req, { model, prompt, seconds, size }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/v1/videos');
      assert.match(String(req.content_type), /^multipart\/form-data/i, 'openai multipart upstream gets multipart');
      assert.equal(bodyValue(req, 'model'), model);
      assert.equal(bodyValue(req, 'prompt'), prompt);
      assert.equal(bodyValue(req, 'seconds'), seconds);
      assert.equal(bodyValue(req, 'size'), size);
      assert.deepEqual(req.files ?? [], [], 'no file part without an image');
    },
    checkImageCreate(req, { prompt, png }) {
      assert.equal(targetPath(req.target), '/v1/videos');
      assert.match(String(req.content_type), /^multipart\/form-data/i);
      assert.equal(bodyValue(req, 'model'), 'sora-2');
      assert.equal(bodyValue(req, 'prompt'), prompt);
      assert.equal(bodyValue(req, 'seconds'), '4');
      assert.equal(bodyValue(req, 'size'), '720x1280');
      const files = req.files ?? [];
      assert.equal(files.length, 1, `one file part: ${JSON.stringify(files)}`);
      assert.equal(files[0].name, 'input_reference');
      assert.equal(files[0].content_type, 'image/png');
      assert.equal(files[0].size, png.length, 'the image reached the vendor whole');
      const sha256 = createHash('sha256').update(png).digest('hex');
      assert.equal(files[0].sha256, sha256, 'the image reached the vendor unchanged');
    },
  },
  {
    // new-api-style resellers (seeds 000, 004).
    dialect: 'unified',
    upstream: 'mock-unified',
    model: 'sora-2-unified',
    key: 'good-unified-1',
    vendorModel: 'sora-2',
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-unified',
        dialect: 'unified',
        keys: ['good-unified-1'],
        models: { 'sora-2-unified': 'sora-2' },
      }),
    ],
    // 8 s (and 4 s) are rounded up to the vendor's shortest video (sora-2: 10 15).
    expectedSeconds: '10',
    expectedImageSeconds: '10',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && targetPath(r.target) === '/v1/video/query',
    // The result is a CDN URL: fetched with no key at all.
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { model, prompt }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/v1/video/create');
      assert.match(String(req.content_type), /^application\/json/i);
      // Exactly seed 000's fields: all eight, duration a JSON number.
      assert.deepEqual(req.json, {
        images: [],
        model,
        orientation: 'landscape',
        prompt,
        size: 'small',
        duration: 10,
        watermark: true,
        private: false,
      });
    },
    checkImageCreate(req, { prompt, png }) {
      assert.equal(targetPath(req.target), '/v1/video/create');
      assert.deepEqual(req.json, {
        images: [dataUrl(png)],
        model: 'sora-2',
        orientation: 'portrait',
        prompt,
        size: 'small',
        duration: 10,
        watermark: true,
        private: false,
      });
    },
  },
  {
    // freesoragenerator.com (seed 003): errors come as HTTP 200 with code != 0.
    dialect: 'freesora',
    upstream: 'mock-freesora',
    model: 'sora-2-freesora',
    key: 'good-freesora-1',
    vendorModel: 'sora-2',
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-freesora',
        dialect: 'freesora',
        keys: ['good-freesora-1'],
        // sora-2-pro-freesora makes storyboards when given shots.
        models: { 'sora-2-freesora': 'sora-2', 'sora-2-pro-freesora': 'sora-2-pro' },
      }),
    ],
    expectedSeconds: '10',
    expectedImageSeconds: '10',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'POST' && targetPath(r.target) === '/api/video-generations/check-result',
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/api/v1/video/sora-pro');
      assert.match(String(req.content_type), /^application\/json/i);
      // Seed 003: the text model for the family, nFrames a string, no size for a non-pro model.
      assert.deepEqual(req.json, {
        model: 'sora-2-text-to-video',
        prompt,
        aspectRatio: 'landscape',
        nFrames: '10',
        removeWatermark: true,
      });
    },
    checkImageCreate(req, { prompt, png }) {
      assert.equal(targetPath(req.target), '/api/v1/video/sora-pro');
      // The image-to-video model of the family, the image as a data URL.
      assert.deepEqual(req.json, {
        model: 'sora-2-image-to-video',
        prompt,
        imageData: dataUrl(png),
        aspectRatio: 'portrait',
        nFrames: '10',
        removeWatermark: true,
      });
    },
  },
  {
    // fal.ai's queue: `Authorization: Key`, the model's own input at the app path, status at
    // owner/app without the endpoint path, then the result with video.url.
    dialect: 'fal',
    upstream: 'mock-fal',
    model: 'sora-2-fal',
    key: 'good-fal-1',
    callbacks: true,
    vendorModel: { text: 'fal-ai/sora-2/text-to-video', image: 'fal-ai/sora-2/image-to-video' },
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-fal',
        dialect: 'fal',
        keys: ['good-fal-1'],
        models: { 'sora-2-fal': { text: 'fal-ai/sora-2/text-to-video', image: 'fal-ai/sora-2/image-to-video' } },
      }),
    ],
    // Sora 2 on fal: 4 8 12 (an integer).
    expectedSeconds: '8',
    expectedImageSeconds: '4',
    hasThumbnail: false,
    // The status and the result of a request, at owner/app (never the endpoint path).
    isJobRequest: (r) => r.method === 'GET' && /^\/fal-ai\/sora-2\/requests\/[^/]+(\/status)?$/.test(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/fal-ai/sora-2/text-to-video');
      assert.match(String(req.content_type), /^application\/json/i);
      assert.deepEqual(req.json, { prompt, duration: 8, aspect_ratio: '16:9', resolution: '720p' });
      assertCallbackUrl(queryParam(req.target, 'fal_webhook'), publicBaseUrl, 'fal_webhook');
    },
    checkImageCreate(req, { prompt, png, publicBaseUrl }) {
      assert.equal(targetPath(req.target), '/fal-ai/sora-2/image-to-video');
      // fal takes a data URI for image_url.
      assert.deepEqual(req.json, { prompt, duration: 4, aspect_ratio: '9:16', resolution: '720p', image_url: dataUrl(png) });
      assertCallbackUrl(queryParam(req.target, 'fal_webhook'), publicBaseUrl, 'fal_webhook');
    },
  },
  {
    // Replicate predictions: {input} at /v1/models/{owner}/{name}/predictions, 201 "starting".
    dialect: 'replicate',
    upstream: 'mock-replicate',
    model: 'sora-2-replicate',
    key: 'good-replicate-1',
    callbacks: true,
    vendorModel: 'openai/sora-2',
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-replicate',
        dialect: 'replicate',
        keys: ['good-replicate-1'],
        // One model for text and image: openai/sora-2 takes an optional input_reference.
        models: { 'sora-2-replicate': 'openai/sora-2' },
      }),
    ],
    // openai/sora-2 on Replicate: 4 8 12 (an integer).
    expectedSeconds: '8',
    expectedImageSeconds: '4',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && /^\/v1\/predictions\/[^/]+$/.test(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/v1/models/openai/sora-2/predictions');
      assert.match(String(req.content_type), /^application\/json/i);
      const { webhook, webhook_events_filter: filter, ...rest } = req.json;
      // openai/sora-2's own input names: seconds an integer, aspect_ratio in words.
      assert.deepEqual(rest, { input: { prompt, seconds: 8, aspect_ratio: 'landscape' } });
      assertCallbackUrl(webhook, publicBaseUrl, 'webhook');
      if (publicBaseUrl) assert.deepEqual(filter, ['completed']);
    },
    checkImageCreate(req, { prompt, png, publicBaseUrl }) {
      assert.equal(targetPath(req.target), '/v1/models/openai/sora-2/predictions');
      const { webhook, webhook_events_filter: _filter, ...rest } = req.json;
      // Replicate's file inputs take a data URL.
      assert.deepEqual(rest, { input: { prompt, seconds: 4, aspect_ratio: 'portrait', input_reference: dataUrl(png) } });
      assertCallbackUrl(webhook, publicBaseUrl, 'webhook');
    },
  },
  {
    // kie.ai's jobs API: createTask {model, callBackUrl, input}, recordInfo with resultJson a
    // JSON string; errors as HTTP 200 with code != 200; images by public URL only.
    dialect: 'kie',
    upstream: 'mock-kie',
    model: 'sora-2-kie',
    key: 'good-kie-1',
    callbacks: true,
    vendorModel: { text: 'sora-2-text-to-video', image: 'sora-2-image-to-video' },
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-kie',
        dialect: 'kie',
        keys: ['good-kie-1'],
        models: { 'sora-2-kie': { text: 'sora-2-text-to-video', image: 'sora-2-image-to-video' } },
      }),
    ],
    // Sora 2 on kie: n_frames "10" | "15".
    expectedSeconds: '10',
    expectedImageSeconds: '10',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && targetPath(r.target) === '/api/v1/jobs/recordInfo',
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/api/v1/jobs/createTask');
      assert.match(String(req.content_type), /^application\/json/i);
      const { callBackUrl, ...rest } = req.json;
      assert.deepEqual(rest, {
        model: 'sora-2-text-to-video',
        input: { prompt, aspect_ratio: 'landscape', n_frames: '10', remove_watermark: true },
      });
      assertCallbackUrl(callBackUrl, publicBaseUrl, 'callBackUrl');
    },
    async checkImageCreate(req, { prompt, png, publicBaseUrl }) {
      assert.equal(targetPath(req.target), '/api/v1/jobs/createTask');
      const { callBackUrl, ...rest } = req.json;
      const imageUrls = rest.input?.image_urls;
      assert.ok(Array.isArray(imageUrls) && imageUrls.length === 1, `one image URL: ${JSON.stringify(rest)}`);
      assert.deepEqual(rest, {
        model: 'sora-2-image-to-video',
        input: { prompt, aspect_ratio: 'portrait', n_frames: '10', remove_watermark: true, image_urls: imageUrls },
      });
      // kie takes no data URLs: the gateway serves the upload at {public_base_url}/media/{token}.
      await assertServedImage(imageUrls[0], png, publicBaseUrl);
      assertCallbackUrl(callBackUrl, publicBaseUrl, 'callBackUrl');
    },
  },
  {
    // Volcengine Ark / BytePlus ModelArk (Seedance): `content` parts (the prompt a text part,
    // the image an image_url part with role first_frame), duration an integer, callback_url.
    dialect: 'ark',
    upstream: 'mock-ark',
    model: 'seedance-ark',
    key: 'good-ark-1',
    callbacks: true,
    vendorModel: ARK_MODEL,
    upstreams: (mockUrl) => [
      upstream(mockUrl, { name: 'mock-ark', dialect: 'ark', keys: ['good-ark-1'], models: { 'seedance-ark': ARK_MODEL } }),
    ],
    // The gateway's Seedance 1.0 default durations, 5 | 10: 8 s and 4 s are rounded up.
    expectedSeconds: '10',
    expectedImageSeconds: '5',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && /^\/api\/v3\/contents\/generations\/tasks\/[^/]+$/.test(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/api/v3/contents/generations/tasks');
      assert.match(String(req.content_type), /^application\/json/i);
      const { callback_url: callbackUrl, ...rest } = req.json;
      assert.deepEqual(rest, {
        model: ARK_MODEL,
        content: [{ type: 'text', text: prompt }],
        ratio: '16:9',
        duration: 10,
        resolution: '720p',
      });
      assertCallbackUrl(callbackUrl, publicBaseUrl, 'callback_url');
    },
    checkImageCreate(req, { prompt, png, publicBaseUrl }) {
      assert.equal(targetPath(req.target), '/api/v3/contents/generations/tasks');
      const { callback_url: callbackUrl, ...rest } = req.json;
      // Ark takes the image inline as a data URL in an image_url part, the first frame.
      assert.deepEqual(rest, {
        model: ARK_MODEL,
        content: [
          { type: 'text', text: prompt },
          { type: 'image_url', image_url: { url: dataUrl(png) }, role: 'first_frame' },
        ],
        ratio: '9:16',
        duration: 5,
        resolution: '720p',
      });
      assertCallbackUrl(callbackUrl, publicBaseUrl, 'callback_url');
    },
  },
  {
    // MiniMax Hailuo: errors in base_resp of HTTP 200 answers; on Success the query gives a
    // file_id, and a third call, files/retrieve with the job's key, gives the download URL.
    // No callback URL (MiniMax's callbacks need a challenge handshake first).
    dialect: 'minimax',
    upstream: 'mock-minimax',
    model: 'hailuo-minimax',
    key: 'good-minimax-1',
    vendorModel: MINIMAX_MODEL,
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-minimax',
        dialect: 'minimax',
        keys: ['good-minimax-1'],
        // Hailuo 02 makes text-to-video and image-to-video under one name.
        models: { 'hailuo-minimax': MINIMAX_MODEL },
      }),
    ],
    // Hailuo 02: 6 | 10 (an integer).
    expectedSeconds: '10',
    expectedImageSeconds: '6',
    hasThumbnail: false,
    isJobRequest: (r) =>
      r.method === 'GET' && ['/v1/query/video_generation', '/v1/files/retrieve'].includes(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/v1/video_generation');
      assert.match(String(req.content_type), /^application\/json/i);
      // 1280x720 is the 768P tier (1080P only for sizes of 1792 and more, and only at 6 s).
      assert.deepEqual(req.json, { model: MINIMAX_MODEL, prompt, duration: 10, resolution: '768P' });
      assert.ok(publicBaseUrl === undefined || !Object.hasOwn(req.json, 'callback_url'), 'no callback_url to MiniMax');
    },
    checkImageCreate(req, { prompt, png }) {
      assert.equal(targetPath(req.target), '/v1/video_generation');
      // The image as first_frame_image, a data URL.
      assert.deepEqual(req.json, {
        model: MINIMAX_MODEL,
        prompt,
        duration: 6,
        resolution: '768P',
        first_frame_image: dataUrl(png),
      });
    },
    // The three calls of a job: create → query (until Success + file_id) → files/retrieve →
    // the keyless download; every keyed call with the job's key.
    describeJob: minimaxThreeCalls,
  },
  {
    // Alibaba DashScope (Wan): the async header, {model, input, parameters}; a text-to-video
    // model takes `size` "W*H", an image-to-video one `resolution` and `input.img_url`.
    dialect: 'dashscope',
    upstream: 'mock-dashscope',
    model: 'wan-dashscope',
    key: 'good-dashscope-1',
    vendorModel: DASHSCOPE_MODELS,
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-dashscope',
        dialect: 'dashscope',
        keys: ['good-dashscope-1'],
        models: { 'wan-dashscope': DASHSCOPE_MODELS },
      }),
    ],
    // The gateway's Wan 2.5 default durations, 5 | 10.
    expectedSeconds: '10',
    expectedImageSeconds: '5',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && /^\/api\/v1\/tasks\/[^/]+$/.test(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/api/v1/services/aigc/video-generation/video-synthesis');
      assert.match(String(req.content_type), /^application\/json/i);
      assert.match(String(req.headers?.['x-dashscope-async']), /^enable$/i, 'X-DashScope-Async: enable');
      assert.deepEqual(req.json, {
        model: DASHSCOPE_MODELS.text,
        input: { prompt },
        parameters: { size: '1280*720', duration: 10 },
      });
    },
    checkImageCreate(req, { prompt, png }) {
      assert.equal(targetPath(req.target), '/api/v1/services/aigc/video-generation/video-synthesis');
      assert.match(String(req.headers?.['x-dashscope-async']), /^enable$/i, 'X-DashScope-Async: enable');
      // The image-to-video model, the image as input.img_url (a data URL), resolution not size.
      assert.deepEqual(req.json, {
        model: DASHSCOPE_MODELS.image,
        input: { prompt, img_url: dataUrl(png) },
        parameters: { resolution: '720P', duration: 5 },
      });
    },
  },
  {
    // Kling's official API: a JWT per request (HS256 over the config's ACCESS_KEY:SECRET_KEY),
    // text2video / image2video by input, status under the same family, `code` != 0 errors.
    dialect: 'kling',
    upstream: 'mock-kling',
    model: 'kling-v2-kling',
    key: klingKey('good-kling-1'),
    keyFor: klingKey,
    callbacks: true,
    vendorModel: KLING_MODEL,
    upstreams: (mockUrl) => [
      upstream(mockUrl, {
        name: 'mock-kling',
        dialect: 'kling',
        keys: [klingKey('good-kling-1')],
        models: { 'kling-v2-kling': KLING_MODEL },
      }),
    ],
    // Kling: "5" | "10" (a string).
    expectedSeconds: '10',
    expectedImageSeconds: '5',
    hasThumbnail: false,
    isJobRequest: (r) => r.method === 'GET' && /^\/v1\/videos\/(text2video|image2video)\/[^/]+$/.test(targetPath(r.target)),
    isKeylessRequest: isFilesDownload,
    checkCreate(req, { prompt, publicBaseUrl }) {
      assert.equal(req.method, 'POST');
      assert.equal(targetPath(req.target), '/v1/videos/text2video');
      assert.match(String(req.content_type), /^application\/json/i);
      const { callback_url: callbackUrl, ...rest } = req.json;
      assert.deepEqual(rest, { model_name: KLING_MODEL, prompt, duration: '10', aspect_ratio: '16:9' });
      assertCallbackUrl(callbackUrl, publicBaseUrl, 'callback_url');
    },
    checkImageCreate(req, { prompt, png, publicBaseUrl }) {
      assert.equal(targetPath(req.target), '/v1/videos/image2video');
      const { callback_url: callbackUrl, ...rest } = req.json;
      // Raw Base64 without a data: prefix, and no aspect_ratio (the image sets it).
      assert.deepEqual(rest, { model_name: KLING_MODEL, prompt, duration: '5', image: png.toString('base64') });
      assertCallbackUrl(callbackUrl, publicBaseUrl, 'callback_url');
    },
    // The JWT of the create and of every job request: header and claims as Kling asks.
    describeJob: klingJwt,
  },
];

/** The public model, the key(s) and the upstream name of a dialect's fault upstreams. */
export function dialectFaults(d) {
  const keyFor = d.keyFor ?? ((name) => name);
  return {
    fail: { upstream: `${d.upstream}-fail`, model: `${d.model}-fail`, key: keyFor(`fail-${d.dialect}-1`) },
    rotation: {
      upstream: `${d.upstream}-rotation`,
      model: `${d.model}-rotation`,
      // In this order: a fresh round_robin pool tries the first key first.
      keys: [keyFor(`ratelimit-${d.dialect}-rot`), keyFor(`good-${d.dialect}-rot`)],
    },
  };
}

/**
 * A dialect's two fault upstreams, mapping their public models as its main upstream does:
 * one whose jobs the vendor fails (a `fail-*` key), and one whose first key is rate-limited
 * (`ratelimit-*`) and whose second is good. Each serves only its own test.
 */
export function faultUpstreams(mockUrl, d) {
  const { fail, rotation } = dialectFaults(d);
  return [
    upstream(mockUrl, {
      name: fail.upstream,
      dialect: d.dialect,
      keys: [fail.key],
      models: { [fail.model]: d.vendorModel },
    }),
    upstream(mockUrl, {
      name: rotation.upstream,
      dialect: d.dialect,
      keys: rotation.keys,
      key_strategy: 'round_robin',
      models: { [rotation.model]: d.vendorModel },
    }),
  ];
}

/** Every key a dialect's upstreams hold (and, of a Kling pair, its secret key on its own). */
export function dialectKeys(d) {
  const { fail, rotation } = dialectFaults(d);
  const keys = [d.key, fail.key, ...rotation.keys];
  return [...keys, ...keys.filter((k) => k.includes(':')).map((k) => k.slice(k.indexOf(':') + 1))];
}

/** Every upstream key the default config holds; no response body may ever contain one. */
export const UPSTREAM_KEYS = [...new Set([...OTHER_UPSTREAM_KEYS, ...DIALECTS.flatMap(dialectKeys)])];

/** A download from the mock's keyless /files/ route (a CDN). */
function isFilesDownload(r) {
  return r.method === 'GET' && targetPath(r.target).startsWith('/files/');
}

export function dataUrl(png, mime = 'image/png') {
  return `data:${mime};base64,${png.toString('base64')}`;
}

function queryParam(target, name) {
  return new URL(String(target), 'http://vendor.invalid').searchParams.get(name) ?? undefined;
}

/**
 * A callback URL handed to the vendor: `{public_base_url}/callbacks/{token}` when the stack has
 * a public entrance (callbacks: true is the default), none at all without one.
 */
export function assertCallbackUrl(url, publicBaseUrl, field) {
  if (!publicBaseUrl) {
    assert.equal(url, undefined, `${field} without public_base_url`);
    return;
  }
  assert.equal(typeof url, 'string', `${field} is sent when public_base_url is set`);
  assert.ok(url.startsWith(`${publicBaseUrl}/callbacks/`), `${field} ${url} is under ${publicBaseUrl}/callbacks/`);
  assert.match(url.slice(publicBaseUrl.length), /^\/callbacks\/[A-Za-z0-9_-]{20,}$/, `${field}: an opaque token`);
}

/**
 * An upload the gateway serves to a URL-only vendor: under `{public_base_url}/media/`, fetched
 * as the vendor would (no key), the very bytes and type the client sent.
 */
export async function assertServedImage(url, png, publicBaseUrl) {
  assert.ok(publicBaseUrl, 'a served image needs public_base_url');
  assert.ok(String(url).startsWith(`${publicBaseUrl}/media/`), `${url} is under ${publicBaseUrl}/media/`);
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url} without a key`);
  assert.match(String(res.headers.get('content-type')), /^image\/png/);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.ok(bytes.equals(png), `the served image differs from the upload (${bytes.length} bytes)`);
}

// ---------------------------------------------------------------------------------------------
// What only some vendors do with a job (DIALECTS' describeJob)

/** A logged request as one line: method, target, the key the mock saw, and what it answered. */
function callLine(r, answer) {
  return `${r.method} ${r.target} [key ${r.key === null ? 'none' : keyLabel(r.key)}] → ${answer}`;
}

/**
 * MiniMax's three calls for the job `create` made (create → query until Success gives a
 * file_id → files/retrieve gives the download URL → the keyless download): every query and
 * every files/retrieve of the job carries the job's key (the create's), and files/retrieve
 * comes after the Success. Returns the sequence, with the key of each call.
 */
function minimaxThreeCalls(requests, create) {
  const key = create.key;
  const taskId = vendorJobId(create);
  assert.ok(taskId, `MiniMax's create answer has a task_id: ${JSON.stringify(create.response)}`);
  const after = requests.filter((r) => r.seq > create.seq && r.method === 'GET');
  const queries = after.filter(
    (r) => targetPath(r.target) === '/v1/query/video_generation' && queryParam(r.target, 'task_id') === taskId,
  );
  assert.ok(queries.length >= 1, `the task ${taskId} was queried`);
  const success = queries.find((r) => r.response?.json?.status === 'Success');
  assert.ok(success, `a query answered Success: ${JSON.stringify(queries.map((q) => q.response?.json))}`);
  const fileId = String(success.response.json.file_id);
  const retrieves = after.filter(
    (r) => targetPath(r.target) === '/v1/files/retrieve' && queryParam(r.target, 'file_id') === fileId,
  );
  assert.ok(retrieves.length >= 1, `the third call, files/retrieve?file_id=${fileId}, was made`);
  for (const r of [...queries, ...retrieves]) assert.equal(r.key, key, `${r.method} ${r.target} used the job's key`);
  assert.ok(retrieves[0].seq > success.seq, 'files/retrieve comes after the Success');
  const downloadUrl = retrieves[0].response?.json?.file?.download_url;
  assert.equal(retrieves[0].response?.json?.base_resp?.status_code, 0, `files/retrieve answered: ${JSON.stringify(retrieves[0].response)}`);
  assert.equal(typeof downloadUrl, 'string', 'files/retrieve gave file.download_url');
  const downloadPath = new URL(downloadUrl).pathname;
  const downloads = after.filter((r) => targetPath(r.target) === downloadPath);
  assert.ok(downloads.length >= 1 && downloads[0].seq > retrieves[0].seq, `${downloadPath} was fetched after files/retrieve`);
  for (const r of downloads) assert.equal(r.key, null, `the download ${r.target} carried no key`);
  const word = (q) => q.response?.json?.status + (q.response?.json?.file_id ? ` file_id ${q.response.json.file_id}` : '');
  return [
    `three calls with the job's key ${keyLabel(key)}:`,
    callLine(create, `task_id ${taskId}`),
    ...queries.map((q) => callLine(q, word(q))),
    ...retrieves.map((r) => callLine(r, `file.download_url ${downloadPath}`)),
    callLine(downloads[0], `HTTP ${downloads[0].response?.status} ${downloads[0].response?.bytes} bytes`),
  ].join('\n    ');
}

function base64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Kling's JWT on the create `create` and on every status read of its task: header
 * `{"alg":"HS256","typ":"JWT"}`, `iss` the access key, `exp` = `nbf` + 1805 s (now + 30 min,
 * now − 5 s) around the time of the call, and an HS256 signature made with the secret key (checked
 * here, never shown). Returns the decoded header and claims of the create's token.
 */
function klingJwt(requests, create) {
  const key = String(create.key);
  const access = key.slice(0, key.indexOf(':'));
  const secret = key.slice(key.indexOf(':') + 1);
  const taskId = vendorJobId(create);
  const reads = requests.filter((r) => {
    const m = /^\/v1\/videos\/(?:text2video|image2video)\/([^/]+)$/.exec(targetPath(r.target));
    return r.seq > create.seq && r.method === 'GET' && m && decodeURIComponent(m[1]) === taskId;
  });
  assert.ok(reads.length >= 1, `the task ${taskId} was read`);
  const tokens = new Set();
  let shown;
  for (const r of [create, ...reads]) {
    const auth = r.headers?.authorization;
    // Failure messages name the request, never the token.
    assert.ok(typeof auth === 'string' && auth.startsWith('Bearer '), `${r.method} ${r.target} carries Authorization: Bearer`);
    const token = auth.slice('Bearer '.length);
    const parts = token.split('.');
    assert.equal(parts.length, 3, `${r.method} ${r.target}: a JWT has three parts`);
    const header = base64urlJson(parts[0]);
    const claims = base64urlJson(parts[1]);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' }, `${r.method} ${r.target}: JWT header`);
    assert.equal(claims.iss, access, `${r.method} ${r.target}: iss is the access key`);
    assert.ok(Number.isInteger(claims.exp) && Number.isInteger(claims.nbf), `exp and nbf are numbers: ${JSON.stringify(claims)}`);
    assert.equal(claims.exp - claims.nbf, 1805, `exp = now + 1800, nbf = now - 5: ${JSON.stringify(claims)}`);
    const at = r.at_ms / 1000;
    assert.ok(claims.nbf <= at + 1 && at < claims.exp, `${r.method} ${r.target} at ${at} lies in [nbf, exp): ${JSON.stringify(claims)}`);
    const signature = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    assert.ok(signature === parts[2], `${r.method} ${r.target}: the HS256 signature is made with the secret key`);
    assert.equal(r.key, key, `${r.method} ${r.target}: the mock verified the token as the job's key`);
    tokens.add(token);
    shown ??= { header, claims };
  }
  return (
    `JWT of the create: header ${JSON.stringify(shown.header)} claims ${JSON.stringify(shown.claims)} ` +
    `(HS256 signature verified with the secret key, not shown; the same iss on ${reads.length} status reads, ` +
    `${tokens.size} distinct token${tokens.size === 1 ? '' : 's'} in all)`
  );
}

// ---------------------------------------------------------------------------------------------
// Mock request log helpers

export function targetPath(target) {
  return String(target).split('?')[0];
}

/** A field of a recorded request body, JSON or multipart (`form` as object or [{name,value}]). */
export function bodyValue(req, name) {
  if (req.json && typeof req.json === 'object' && Object.hasOwn(req.json, name)) return req.json[name];
  const form = req.form;
  if (Array.isArray(form)) return form.find((f) => f.name === name)?.value;
  if (form && typeof form === 'object' && Object.hasOwn(form, name)) return form[name];
  return undefined;
}

/** A RegExp matching `name` as a whole word (`mock-unified` does not match `mock-unified-nourl`). */
export function naming(name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`);
}

/**
 * Whether a recorded request is a create (any dialect) for `prompt`: a top-level `prompt`, one
 * inside `input` (Replicate, kie, DashScope), or Ark's text part in `content`.
 */
export const isCreateOf = (prompt) => (r) =>
  r.method === 'POST' &&
  (bodyValue(r, 'prompt') === prompt ||
    r.json?.input?.prompt === prompt ||
    (Array.isArray(r.json?.content) && r.json.content.some((p) => p?.type === 'text' && p.text === prompt)));

/**
 * The vendor's id for the job a recorded create made, read from the answer the mock logged
 * (openai / unified / Replicate / ark `id`, fal `request_id`, freesora / kie `data.taskId`,
 * kling `data.task_id`, DashScope `output.task_id`, MiniMax `task_id`). DashScope and Kling
 * answers also carry a `request_id` of their own, so the task ids are read first.
 */
export function vendorJobId(create) {
  const j = create?.response?.json;
  return j?.data?.taskId ?? j?.data?.task_id ?? j?.output?.task_id ?? j?.task_id ?? j?.request_id ?? j?.id ?? null;
}

/**
 * Whether a recorded answer was a rate limit: HTTP 429 (Kling's 1302 included), HTTP 200 with
 * code 429 (freesora, kie), or HTTP 200 with MiniMax's `base_resp.status_code` 1002.
 */
export function isRateLimitAnswer(r) {
  const res = r.response ?? {};
  return res.status === 429 || Number(res.json?.code) === 429 || Number(res.json?.base_resp?.status_code) === 1002;
}

/** The creates (any dialect) the vendor received for a prompt. */
export function createsFor(requests, prompt) {
  return requests.filter(isCreateOf(prompt));
}

// ---------------------------------------------------------------------------------------------
// YAML (a tiny emitter: block maps and sequences, flow lists of scalars, JSON-quoted strings)

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function yamlScalar(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  throw new TypeError(`cannot write ${typeof v} to YAML`);
}

function isScalar(v) {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

export function toYaml(value, indent = '') {
  const lines = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const key = PLAIN_KEY.test(k) ? k : JSON.stringify(k);
    if (isScalar(v)) {
      lines.push(`${indent}${key}: ${yamlScalar(v)}`);
    } else if (Array.isArray(v) && v.every(isScalar)) {
      lines.push(`${indent}${key}: [${v.map(yamlScalar).join(', ')}]`);
    } else if (Array.isArray(v)) {
      lines.push(`${indent}${key}:`);
      for (const item of v) {
        const body = toYaml(item, `${indent}    `).split('\n');
        lines.push(`${indent}  - ${body[0].trimStart()}`, ...body.slice(1));
      }
    } else if (Object.keys(v).length === 0) {
      lines.push(`${indent}${key}: {}`);
    } else {
      lines.push(`${indent}${key}:`, toYaml(v, `${indent}  `));
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Processes

const started = new Set();
let exitHookInstalled = false;

// If the runner dies without reaching after(), do not leave our children behind.
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

/** `name` as an absolute path: itself if it names a file, else the first match on PATH. */
function onPath(name) {
  if (name.includes('/')) return path.resolve(process.cwd(), name);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', name);
    if (existsSync(candidate)) return candidate;
  }
  return name; // spawnUntilReady reports it missing
}

/**
 * Spawns `bin args` and resolves once a line of its output matches `ready`.
 * Fails after START_TIMEOUT_MS, or when the process exits first, with what it printed.
 */
async function spawnUntilReady(label, bin, args, ready, env) {
  assert.ok(existsSync(bin), `${label} binary not found at ${bin} (build it first, or set the env var naming it)`);
  installExitHook();
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const proc = { label, child, tail: [], exited: null };
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exited = { code, signal };
      started.delete(child);
      resolve(proc.exited);
    });
  });
  proc.exitedPromise = exited;

  let onLine;
  const matched = new Promise((resolve) => {
    onLine = (line) => {
      const m = ready.exec(line);
      if (m) resolve(m);
    };
  });
  // Keep draining both pipes for the whole run: a full pipe would block the child's logging.
  for (const [stream, name] of [
    [child.stdout, 'stdout'],
    [child.stderr, 'stderr'],
  ]) {
    let partial = '';
    const take = (line) => {
      proc.tail.push(`[${name}] ${line}`);
      if (proc.tail.length > 400) proc.tail.shift();
      if (VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
      onLine(line);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      lines.forEach(take);
    });
    stream.on('end', () => {
      if (partial) take(partial);
      partial = '';
    });
  }

  const spawnError = new Promise((resolve) => child.on('error', (err) => resolve(err)));
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS);
  });
  const outcome = await Promise.race([matched, exited.then(() => 'exited'), spawnError, timeout]);
  clearTimeout(timer);
  if (Array.isArray(outcome)) return { proc, match: outcome };

  await stopProcess(proc);
  const why =
    outcome === 'timeout'
      ? `printed no line matching ${ready} within ${START_TIMEOUT_MS} ms`
      : outcome === 'exited'
        ? `exited (code ${proc.exited.code}, signal ${proc.exited.signal}) before it was ready`
        : `could not start: ${outcome.message}`;
  throw new Error(`${label} (${bin} ${args.join(' ')}) ${why}; its output:\n${proc.tail.join('\n') || '(none)'}`);
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; only ever the child we spawned. */
async function stopProcess(proc) {
  if (!proc || proc.exited) return proc?.exited;
  if (proc.child.pid === undefined) return undefined; // never started (spawn error)
  proc.child.kill('SIGTERM');
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
  });
  const outcome = await Promise.race([proc.exitedPromise, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    proc.child.kill('SIGKILL');
    await proc.exitedPromise;
  }
  return proc.exited;
}

function hostForUrl(host) {
  if (host === '0.0.0.0' || host === '' || host === '*') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

// ---------------------------------------------------------------------------------------------
// Redis (fleet mode)

/** A loopback port that was free a moment ago: listen on port 0, read the port, close. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a PING on 127.0.0.1:port answers +PONG; rejects after `timeoutMs`. */
async function redisPing(port, timeoutMs = START_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    const answer = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let got = '';
      const done = (value) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1_000, () => done('timeout'));
      socket.on('error', (err) => done(err.code ?? err.message));
      socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        got += chunk;
        if (got.includes('\r\n')) done(got.trim());
      });
    });
    if (answer === '+PONG') return;
    last = answer;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} answered no PONG within ${timeoutMs} ms (last: ${last})`);
    await sleep(50);
  }
}

/**
 * redis-server on a free loopback port with its files in `dir`, persisting as DESIGN §10 asks
 * (append-only file, no RDB snapshots). The port is picked, then bound by redis-server: another
 * process may take it in between, so a start that fails is tried again on a new port.
 */
async function startRedis(dir) {
  const bin = onPath(process.env.VIDEOGATE_REDIS_SERVER || 'redis-server');
  if (!existsSync(bin)) {
    throw new Error(`redis-server not found (${bin}): install it (scripts/install-deps.sh --tests) or set VIDEOGATE_REDIS_SERVER`);
  }
  await mkdir(dir, { recursive: true });
  let lastError;
  for (let attempt = 1; attempt <= REDIS_START_ATTEMPTS; attempt++) {
    const port = await freePort();
    let proc;
    try {
      ({ proc } = await spawnUntilReady(
        'redis-server',
        bin,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'],
        /Ready to accept connections/,
        process.env,
      ));
      await redisPing(port);
      proc.port = port;
      proc.url = `redis://127.0.0.1:${port}/0`;
      return proc;
    } catch (err) {
      await stopProcess(proc);
      lastError = err;
    }
  }
  throw new Error(`redis-server did not start in ${REDIS_START_ATTEMPTS} attempts; the last failure: ${lastError.message}`);
}

/**
 * A `fetch` for the SDK (its `fetch` option) and for plain calls: each call goes to the next
 * origin in turn, whatever origin its URL names (the SDK keeps one baseURL). `calls[i]` counts
 * the calls sent to `origins[i]`.
 */
function alternatingFetch(origins) {
  let next = 0;
  const calls = origins.map(() => 0);
  const altFetch = (input, init) => {
    const i = next;
    next = (next + 1) % origins.length;
    calls[i] += 1;
    const isRequest = typeof input === 'object' && !(input instanceof URL);
    const url = new URL(isRequest ? input.url : String(input));
    const to = new URL(origins[i]);
    url.protocol = to.protocol;
    url.host = to.host;
    return fetch(isRequest ? new Request(url, input) : url, init);
  };
  return { fetch: altFetch, calls };
}

// ---------------------------------------------------------------------------------------------
// Webhooks (videogate → client, DESIGN §9)

/**
 * The `webhooks:` section of a test config: retries within a test's time, and loopback
 * receivers allowed (they are private addresses, refused by default).
 */
export const TEST_WEBHOOK_SETTINGS = {
  timeout: '5s',
  retry_for: '1h',
  schedule: ['100ms', '250ms', '1s'],
  allow_private: true,
};

function addWebhooks(config, { clients = {}, ...settings }) {
  for (const [name, webhook] of Object.entries(clients)) {
    const client = config.clients.find((c) => c.name === name);
    assert.ok(client, `webhooks: the config has no client "${name}"`);
    client.webhook = webhook;
  }
  config.webhooks = { ...TEST_WEBHOOK_SETTINGS, ...settings };
}

/**
 * A webhook receiver on 127.0.0.1:0 (node:http) that answers every request 200 and records it
 * as `{ method, path, headers, body, at }`: `headers` as node gives them (lower-case names),
 * `body` the raw text, exactly as `client.webhooks.unwrap(body, headers)` wants it, `at` the
 * arrival time (ms). `requests` grows as they come; `waitFor` polls it; `close()` stops it.
 */
export async function startWebhookReceiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    requests,
    url: (p = '/') => `http://127.0.0.1:${port}${p}`,
    /** Waits (bounded) until at least `min` recorded requests satisfy `predicate`; returns them. */
    async waitFor(predicate, { min = 1, timeoutMs = 15_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = requests.filter(predicate);
        if (found.length >= min || Date.now() > deadline) return found;
        await sleep(50);
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the gateway's pooled keep-alive connections
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The public entrance (public_base_url)

/**
 * What the config's `public_base_url` names: a node:http reverse proxy on 127.0.0.1:0 in front
 * of the gateway (in fleet mode: of every replica, in turn, as a load balancer would be). It
 * listens before the gateways start, so its URL can go into their config while they still bind
 * port 0; once they are up, `setTargets(urls)` points it at them. Vendors reach the gateway
 * through it: the images it serves to URL-only vendors (`/media/{token}`) and the vendors'
 * callbacks (`/callbacks/{token}`). `requests` records `{ method, path, status, at }` for each
 * request; without targets (or when the gateway is gone) it answers 502.
 */
export async function startPublicEntrance() {
  let targets = [];
  let next = 0;
  const requests = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, path: req.url, status: null, at: Date.now() };
    requests.push(entry);
    const refuse = () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('no gateway behind the public entrance');
    };
    if (targets.length === 0) {
      req.resume();
      refuse();
      return;
    }
    const to = new URL(targets[next]);
    next = (next + 1) % targets.length;
    const forward = http.request(
      {
        host: to.hostname.replace(/^\[|\]$/g, ''),
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        entry.status = answer.statusCode;
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', refuse);
    req.pipe(forward);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setTargets(urls) {
      targets = [...urls];
      next = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The stack

/**
 * Starts the mock vendor and videogate (in fleet mode: redis-server and FLEET_REPLICAS replicas
 * of videogate on one config). Options:
 * - `upstreams(mockUrl)`: the upstream list (default: defaultUpstreams + every DIALECTS entry's
 *   upstreams and faultUpstreams)
 * - `publicEntrance` (default true): start a public entrance (startPublicEntrance) in front of
 *   the gateway(s) and name it as the config's `public_base_url`; false leaves it unset
 * - `webhooks`: `{ clients: { <client name>: { url, secret, previous_secret? } }, ...settings }`:
 *   those clients (`app`, `limited`) get these webhooks (DESIGN §9), and the config a
 *   `webhooks:` section, `settings` over TEST_WEBHOOK_SETTINGS
 * - `configure(config)`: last chance to change the config object before it is written
 * - `mockArgs`: more arguments for the mock vendor, after the defaults (a repeated flag wins),
 *   e.g. `['--retry-after', '3600']` (the Retry-After its 429 answers send)
 * Returns { baseURL, gatewayUrl, gatewayUrls, fetch, fleet, mockUrl, publicBaseUrl, tmpDir,
 *           configPath, mockRequests(), mockReset(), completeMockJob(id), mockCallbacks(),
 *           waitForMockCallback(predicate), publicRequests(), logs(), stop() }.
 * `fetch` is undefined with one gateway; in fleet mode it sends each call to the next replica,
 * and clients take it as the SDK's `fetch` option (baseURL and gatewayUrl name the first).
 */
export async function startStack(options = {}) {
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'videogate-e2e-'));
  let mock;
  let redis;
  let entrance;
  const gateways = [];
  const stopAll = async () => {
    await entrance?.close();
    const exits = [];
    for (const g of gateways) exits.push(await stopProcess(g));
    const redisExit = await stopProcess(redis);
    const mockExit = await stopProcess(mock);
    await rm(tmpDir, { recursive: true, force: true });
    return { gateway: exits[0], gateways: exits, redis: redisExit, mock: mockExit };
  };
  try {
    const env = { ...process.env, VIDEOGATE_FIXTURES_DIR: FIXTURES_DIR };
    ({ proc: mock } = await spawnUntilReady(
      'videogate-mock-vendor',
      VIDEOGATE_MOCK_BIN,
      ['--listen', '127.0.0.1:0', '--complete-after-polls', '2', '--slow-ms', '3000', ...(options.mockArgs ?? [])],
      /videogate-mock-vendor listening on (\S+):(\d+)/,
      env,
    ).then(({ proc, match }) => {
      proc.url = `http://${hostForUrl(match[1])}:${match[2]}`;
      return { proc };
    }));
    if (FLEET) redis = await startRedis(path.join(tmpDir, 'redis'));
    if (options.publicEntrance ?? true) entrance = await startPublicEntrance();

    const upstreams = options.upstreams
      ? options.upstreams(mock.url)
      : [
          ...defaultUpstreams(mock.url),
          ...DIALECTS.flatMap((d) => [...d.upstreams(mock.url), ...faultUpstreams(mock.url, d)]),
        ];
    const config = {
      listen: '127.0.0.1:0',
      // Where vendors reach us (served images, callbacks); the gateways still bind port 0.
      public_base_url: entrance?.url,
      limits: { max_body_bytes: 2097152, request_timeout: '10s' },
      clients: [
        { name: 'app', key: CLIENT_KEY, models: ['*'] },
        { name: 'limited', key: LIMITED_CLIENT_KEY, models: ['sora-2'] },
      ],
      // One Redis for the replicas; a prefix of this run's own, as two fleets sharing a Redis
      // would have.
      store: FLEET
        ? {
            kind: 'redis',
            url: '${VIDEOGATE_E2E_REDIS_URL}',
            prefix: `videogate-e2e-${process.pid}-${randomBytes(4).toString('hex')}:`,
          }
        : { kind: 'sqlite', path: path.join(tmpDir, 'videogate.db') },
      // Through the environment, as a deployment would (exercises ${VAR} expansion).
      ids: { secret: '${VIDEOGATE_E2E_ID_SECRET}' },
      log: { level: 'info' },
      upstreams,
    };
    if (options.webhooks) addWebhooks(config, options.webhooks);
    options.configure?.(config);
    // One file for every replica: with port 0 they do not even differ in `listen`.
    const configPath = path.join(tmpDir, 'videogate.yaml');
    await writeFile(configPath, `${toYaml(config)}\n`);

    const gatewayEnv = { ...env, VIDEOGATE_E2E_ID_SECRET: ID_SECRET };
    if (redis) gatewayEnv.VIDEOGATE_E2E_REDIS_URL = redis.url;
    const replicas = FLEET ? FLEET_REPLICAS : 1;
    for (let i = 0; i < replicas; i++) {
      const { proc } = await spawnUntilReady(
        FLEET ? `videogate-${String.fromCharCode(97 + i)}` : 'videogate',
        VIDEOGATE_BIN,
        ['--config', configPath],
        /listening on (\S+):(\d+)/,
        gatewayEnv,
      ).then(({ proc, match }) => {
        proc.url = `http://${hostForUrl(match[1])}:${match[2]}`;
        return { proc };
      });
      gateways.push(proc);
    }

    const gatewayUrls = gateways.map((g) => g.url);
    entrance?.setTargets(gatewayUrls);
    const spread = FLEET ? alternatingFetch(gatewayUrls) : undefined;
    const mockUrl = mock.url;
    return {
      fleet: FLEET,
      gatewayUrl: gatewayUrls[0],
      gatewayUrls,
      baseURL: `${gatewayUrls[0]}/v1`,
      fetch: spread?.fetch,
      mockUrl,
      publicBaseUrl: entrance?.url,
      redisUrl: redis?.url,
      tmpDir,
      configPath,
      /** Everything the vendor received so far, oldest first. */
      async mockRequests() {
        const res = await fetch(`${mockUrl}/_mock/requests`);
        assert.equal(res.status, 200, 'GET /_mock/requests');
        return res.json();
      },
      async mockReset() {
        const res = await fetch(`${mockUrl}/_mock/reset`, { method: 'POST' });
        assert.ok(res.ok, `POST /_mock/reset answered ${res.status}`);
      },
      /** Every callback the vendors sent so far (`GET /_mock/callbacks`). */
      async mockCallbacks() {
        const res = await fetch(`${mockUrl}/_mock/callbacks`);
        assert.equal(res.status, 200, 'GET /_mock/callbacks');
        return res.json();
      },
      /** Waits (bounded) for a vendor callback satisfying `predicate` to be done; returns it. */
      async waitForMockCallback(predicate, { timeoutMs = 5_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = (await this.mockCallbacks()).find((c) => predicate(c) && c.state !== 'pending');
          if (found || Date.now() > deadline) return found;
          await sleep(50);
        }
      },
      /** What reached the public entrance so far: `{ method, path, status, at }`, oldest first. */
      publicRequests() {
        return [...(entrance?.requests ?? [])];
      },
      async completeMockJob(upstreamId) {
        const res = await fetch(`${mockUrl}/_mock/jobs/${encodeURIComponent(upstreamId)}/complete`, { method: 'POST' });
        assert.ok(res.ok, `POST /_mock/jobs/${upstreamId}/complete answered ${res.status}`);
      },
      /**
       * Waits (bounded) until at least `min` recorded requests satisfy `predicate`; returns them.
       * For requests the vendor may record only once it has answered (e.g. slow ones).
       */
      async waitForMockRequests(predicate, { min = 1, timeoutMs = 5_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = (await this.mockRequests()).filter(predicate);
          if (found.length >= min || Date.now() > deadline) return found;
          await sleep(50);
        }
      },
      /** The last `lines` lines each process printed (for failure messages). */
      logs(lines = 400) {
        return [
          ...mock.tail.slice(-lines).map((l) => `mock ${l}`),
          ...(redis ? redis.tail.slice(-lines).map((l) => `redis ${l}`) : []),
          ...gateways.flatMap((g) => g.tail.slice(-lines).map((l) => `${g.label} ${l}`)),
        ].join('\n');
      },
      async stop() {
        const exits = await stopAll();
        // A fleet run whose calls all went to one replica proved nothing about the fleet.
        if (spread && spread.calls.reduce((a, b) => a + b, 0) >= gatewayUrls.length) {
          assert.ok(spread.calls.every((n) => n > 0), `calls per replica: ${spread.calls.join(', ')}`);
        }
        return exits;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions shared by the test files

export const VIDEO_FIELDS = [
  'id',
  'object',
  'model',
  'status',
  'progress',
  'created_at',
  'completed_at',
  'expires_at',
  'prompt',
  'size',
  'seconds',
  'remixed_from_video_id',
  'error',
];
const STATUSES = ['queued', 'in_progress', 'completed', 'failed'];

/** DESIGN §1: every field present (nulls where unknown), types and ranges as documented. */
export function assertVideo(v) {
  const shown = JSON.stringify(v);
  for (const f of VIDEO_FIELDS) assert.ok(Object.hasOwn(v, f), `Video object lacks "${f}": ${shown}`);
  assert.match(v.id, /^video_[A-Za-z0-9_-]+$/, `id: ${shown}`);
  assert.ok(v.id.length <= 200, `id longer than 200 chars: ${v.id.length}`);
  assert.equal(v.object, 'video');
  assert.ok(STATUSES.includes(v.status), `status: ${shown}`);
  assert.ok(Number.isInteger(v.progress) && v.progress >= 0 && v.progress <= 100, `progress: ${shown}`);
  // Unix seconds, not milliseconds.
  assert.ok(Number.isInteger(v.created_at), `created_at: ${shown}`);
  assert.ok(Math.abs(v.created_at - Date.now() / 1000) < 3600, `created_at is not "now" in seconds: ${shown}`);
  assert.equal(typeof v.model, 'string');
  assert.equal(typeof v.prompt, 'string');
  assert.equal(typeof v.size, 'string');
  assert.equal(typeof v.seconds, 'string', `seconds is a string: ${shown}`);
  assert.ok(v.expires_at === null || Number.isInteger(v.expires_at), `expires_at: ${shown}`);
  assert.ok(v.remixed_from_video_id === null || typeof v.remixed_from_video_id === 'string', `remixed_from: ${shown}`);
  if (v.status === 'completed') {
    assert.ok(Number.isInteger(v.completed_at) && v.completed_at >= v.created_at, `completed_at: ${shown}`);
    assert.equal(v.progress, 100, `completed video has progress 100: ${shown}`);
  } else if (v.status !== 'failed') {
    assert.equal(v.completed_at, null, `completed_at before completion: ${shown}`);
  }
  if (v.status === 'failed') {
    assert.ok(v.error && typeof v.error.code === 'string' && typeof v.error.message === 'string', `error: ${shown}`);
  } else {
    assert.equal(v.error, null, `error on a video that did not fail: ${shown}`);
  }
}

/**
 * Retrieves until the video is terminal, waiting what `openai-poll-after-ms` asks (capped at
 * 1 s, so a slow hint cannot stall the suite). Asserts every intermediate object too.
 */
export async function waitForTerminal(client, id, { timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastProgress = 0;
  for (;;) {
    const { data: video, response } = await client.videos.retrieve(id).withResponse();
    assertVideo(video);
    assert.equal(video.id, id);
    assert.ok(video.progress >= lastProgress, `progress went back from ${lastProgress} to ${video.progress}`);
    lastProgress = video.progress;
    if (video.status === 'completed' || video.status === 'failed') return video;
    const hint = response.headers.get('openai-poll-after-ms');
    assert.match(String(hint), /^\d+$/, `non-terminal retrieve lacks openai-poll-after-ms (got ${hint})`);
    if (Date.now() > deadline) throw new Error(`video ${id} still ${video.status} after ${timeoutMs} ms`);
    await sleep(Math.min(Math.max(Number(hint), 20), 1000));
  }
}

export async function waitForCompleted(client, id, options) {
  const video = await waitForTerminal(client, id, options);
  assert.equal(video.status, 'completed', `video ${id} failed: ${JSON.stringify(video.error)}`);
  return video;
}

/** Awaits `promise`, which must reject with an SDK APIError; returns the error for more checks. */
export async function expectApiError(promise, { status, type, code, param, ErrorClass, message }) {
  let error;
  let value;
  try {
    value = await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected HTTP ${status}, but the call succeeded with ${JSON.stringify(value)?.slice(0, 500)}`);
  assert.equal(error.status, status, `HTTP status (error: ${error.message})`);
  if (ErrorClass) assert.ok(error instanceof ErrorClass, `${error.constructor.name} is not ${ErrorClass.name}`);
  assert.ok(error.error && typeof error.error.message === 'string', `OpenAI error envelope: ${JSON.stringify(error.error)}`);
  if (type !== undefined) assert.equal(error.type, type, 'error.type');
  if (code !== undefined) assert.equal(error.code, code, 'error.code');
  if (param !== undefined) assert.equal(error.param, param, 'error.param');
  if (message !== undefined) assert.match(error.error.message, message, 'error.message');
  assert.ok(error.requestID, 'x-request-id on an error response');
  assertNoSecrets(JSON.stringify(error.error));
  return error;
}

/** A 429 upstream_rate_limited whose Retry-After is a positive number of seconds. */
export async function expectUpstreamRateLimited(promise, RateLimitError) {
  const err = await expectApiError(promise, {
    status: 429,
    ErrorClass: RateLimitError,
    type: 'rate_limit_error',
    code: 'upstream_rate_limited',
  });
  const retryAfter = err.headers.get('retry-after');
  assert.match(String(retryAfter), /^\d+$/, `Retry-After in seconds (got ${retryAfter})`);
  assert.ok(Number(retryAfter) > 0, 'Retry-After is positive');
  return err;
}

/** No upstream key (nor a URL with credentials) may reach a client. */
export function assertNoSecrets(text) {
  for (const key of UPSTREAM_KEYS) assert.ok(!text.includes(key), `response leaks upstream key ${key}: ${text}`);
  assert.doesNotMatch(text, /https?:\/\/[^/\s"]*@/, 'response leaks a URL with credentials');
}

/**
 * `test()` with the suite's timeout that, when the test fails, also prints the last lines the
 * gateway and the mock wrote (then rethrows the failure unchanged).
 */
export function testWithLogs(getStack, { timeout = 60_000 } = {}) {
  return (name, fn) =>
    test(name, { timeout }, async (t) => {
      try {
        await fn(t);
      } catch (err) {
        const stack = getStack();
        if (stack) t.diagnostic(`"${name}" failed; the processes' last output:\n${stack.logs(40)}`);
        throw err;
      }
    });
}
