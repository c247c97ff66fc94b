// An ordinary OpenAI Videos API client: nothing here knows about videogate or the vendor.
// OPENAI_BASE_URL (http://localhost:8080/v1 beside the sidecar) and OPENAI_API_KEY come from
// the environment, as the SDK reads them. Exits 0 when a video was made and downloaded.
import OpenAI from 'openai';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const client = new OpenAI();
const out = process.env.DEMO_OUT ?? path.join(os.tmpdir(), 'video.mp4');

const video = await client.videos.create({ model: 'sora-2', prompt: 'a calico cat playing a piano', seconds: '4' });
console.log(`created ${video.id} (${video.status})`);
let job = video;
for (let i = 0; i < 120 && job.status !== 'completed' && job.status !== 'failed'; i++) {
  await new Promise((r) => setTimeout(r, 500));
  job = await client.videos.retrieve(video.id);
  console.log(`${job.status} ${job.progress ?? 0}%`);
}
if (job.status !== 'completed') {
  console.error(`the video did not complete: ${JSON.stringify(job.error ?? job.status)}`);
  process.exit(1);
}
const content = await client.videos.downloadContent(video.id);
const bytes = Buffer.from(await content.arrayBuffer());
await writeFile(out, bytes);
console.log(`downloaded ${bytes.length} bytes (${content.headers.get('content-type')}) to ${out}`);
