import { createHash } from 'node:crypto';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ExportArchive } from './export-archive.js';

const MIB = 1024 * 1024;

/** Just enough of S3's multipart upload to see what an archive sends: parts by upload, objects once completed. */
function fakeS3() {
  const uploads = new Map<string, { key: string; parts: Map<number, Uint8Array> }>();
  const objects = new Map<string, Uint8Array>();
  const partSizes: number[][] = [];
  let aborted = 0;
  const send = async (command: unknown) => {
    if (command instanceof CreateMultipartUploadCommand) {
      const id = `u${uploads.size + 1}`;
      uploads.set(id, { key: command.input.Key ?? '', parts: new Map() });
      return { UploadId: id };
    }
    if (command instanceof UploadPartCommand) {
      const upload = uploads.get(command.input.UploadId ?? '');
      if (!upload) throw new Error('NoSuchUpload');
      upload.parts.set(command.input.PartNumber ?? 0, command.input.Body as Uint8Array);
      return { ETag: `"${command.input.PartNumber}"` };
    }
    if (command instanceof CompleteMultipartUploadCommand) {
      const upload = uploads.get(command.input.UploadId ?? '');
      if (!upload) throw new Error('NoSuchUpload');
      const numbers = (command.input.MultipartUpload?.Parts ?? []).map((part) => part.PartNumber ?? 0);
      const parts = numbers.map((n) => upload.parts.get(n) ?? new Uint8Array());
      partSizes.push(parts.map((part) => part.length));
      objects.set(upload.key, Buffer.concat(parts));
      uploads.delete(command.input.UploadId ?? '');
      return {};
    }
    if (command instanceof AbortMultipartUploadCommand) {
      aborted += 1;
      uploads.delete(command.input.UploadId ?? '');
      return {};
    }
    throw new Error(`unexpected command ${String(command)}`);
  };
  return { s3: { send } as unknown as S3Client, objects, uploads, partSizes, aborted: () => aborted };
}

async function* chunks(total: number, fill: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += MIB) yield new Uint8Array(Math.min(MIB, total - sent)).fill(fill);
}

async function* lines(...text: string[]): AsyncGenerator<string> {
  yield* text;
}

describe('ExportArchive', () => {
  it('streams a small archive as one upload whose only part may be under S3’s 5 MiB minimum', async () => {
    const s3 = fakeS3();
    const archive = new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`);
    await archive.addText('cases.jsonl', lines('{"a":1}\n', '{"b":2}\n'));
    await archive.addFile('evidence/x.bin', 3, chunks(3, 7));
    const [part, ...more] = await archive.finish();
    expect(more).toEqual([]);
    const bytes = s3.objects.get('export/1.zip') ?? new Uint8Array();
    expect(part).toEqual({ part: 1, key: 'export/1.zip', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const files = unzipSync(bytes);
    expect(strFromU8(files['cases.jsonl'] ?? new Uint8Array())).toBe('{"a":1}\n{"b":2}\n');
    expect([...(files['evidence/x.bin'] ?? [])]).toEqual([7, 7, 7]);
  });

  it('sends every part but the last at the chunk size, so memory stays at one chunk whatever the archive’s size', async () => {
    const s3 = fakeS3();
    const archive = new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`, { uploadChunkBytes: 5 * MIB });
    await archive.addFile('big.bin', 12 * MIB, chunks(12 * MIB, 1));
    await archive.finish();
    const [sizes] = s3.partSizes;
    expect(sizes?.slice(0, -1)).toEqual([5 * MIB, 5 * MIB]);
    expect(sizes?.at(-1)).toBeLessThan(5 * MIB);
  });

  it('opens a new volume before a file would take the current one past the part limit, each volume a whole ZIP', async () => {
    const s3 = fakeS3();
    const archive = new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`, { partLimitBytes: 3 * MIB });
    await archive.addText('cases.jsonl', lines('{}\n'));
    for (const [i, size] of [2 * MIB, 2 * MIB, MIB / 2].entries()) await archive.addFile(`f${i}`, size, chunks(size, i));
    const parts = await archive.finish();
    expect(parts.map((part) => part.key)).toEqual(['export/1.zip', 'export/2.zip']);
    expect(parts.every((part) => part.bytes <= 3 * MIB)).toBe(true);
    const first = unzipSync(s3.objects.get('export/1.zip') ?? new Uint8Array());
    const second = unzipSync(s3.objects.get('export/2.zip') ?? new Uint8Array());
    expect(Object.keys(first)).toEqual(['cases.jsonl', 'f0']);
    expect(Object.keys(second)).toEqual(['f1', 'f2']);
    expect(second.f2?.length).toBe(MIB / 2);
  });

  it('aborts the unfinished upload when it is given up, and names the volumes already written', async () => {
    const s3 = fakeS3();
    const archive = new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`, { partLimitBytes: 3 * MIB, uploadChunkBytes: 5 * MIB });
    await archive.addFile('f0', 2 * MIB, chunks(2 * MIB, 0));
    await archive.addFile('f1', 2 * MIB, chunks(2 * MIB, 1));
    // biome-ignore lint/correctness/useYield: a source that fails before its first byte.
    const failing = (async function* (): AsyncGenerator<Uint8Array> {
      throw new Error('source failed');
    })();
    await expect(archive.addFile('f2', 6 * MIB, failing)).rejects.toThrow('source failed');
    const written = await archive.abort();
    expect(written.map((part) => part.key)).toEqual(['export/1.zip', 'export/2.zip']);
    expect(s3.uploads.size).toBe(0);
  });
});

describe('ExportArchive limits', () => {
  it('cuts volumes at 2 GiB by default, and refuses a longer cut or a file a 32-bit ZIP cannot record', async () => {
    const s3 = fakeS3();
    expect(() => new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`)).not.toThrow();
    expect(() => new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`, { partLimitBytes: 2 ** 31 + 1 })).toThrow(RangeError);
    const archive = new ExportArchive({ s3: s3.s3, bucket: 'b' }, (part) => `export/${part}.zip`);
    await expect(archive.addFile('huge.bin', 2 ** 32, chunks(0, 0))).rejects.toThrow(RangeError);
  });
});
