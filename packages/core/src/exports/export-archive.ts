/**
 * A ZIP archive streamed into S3 as it is written: the export never holds a tenant's data set in
 * memory, only one upload chunk (S3 multipart upload: parts of at least 5 MiB but the last).
 *
 * ZIP without its 64-bit extension (which fflate does not write) caps an archive at 4 GiB, so an
 * export is split into volumes: each part is a complete archive under `partLimitBytes` (2 GiB by
 * default), and a file that would not fit in the current part opens the next one. Every part's
 * size and SHA-256 are recorded, for the manifest and for the client to check its download.
 */
import { createHash, type Hash } from 'node:crypto';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';

export interface ArchiveTarget {
  s3: S3Client;
  bucket: string;
}

export interface ArchivePart {
  /** 1-based. */
  part: number;
  key: string;
  bytes: number;
  /** Hex SHA-256 of the part's bytes. */
  sha256: string;
}

export interface ArchiveOptions {
  /** A part is closed before a file would take it past this many bytes. */
  partLimitBytes?: number;
  /** Bytes buffered before they are sent as one multipart part (S3's minimum is 5 MiB). */
  uploadChunkBytes?: number;
}

/**
 * ZIP without its 64-bit extension records sizes and offsets in 32 bits (fflate writes no ZIP64 and
 * truncates silently): a volume, and so each entry, must stay under 4 GiB.
 */
const ZIP32_LIMIT = 2 ** 32 - 1;
/** Volumes are cut at 2 GiB at most: with files of at most 2 GiB (tiers.ts), no volume nears 4 GiB. */
const MAX_PART_LIMIT = 2 ** 31;

/** Local header + central directory entry + data descriptor, generously: the name is counted twice. */
const ENTRY_OVERHEAD_BYTES = 128;
const MIB = 1024 * 1024;

/** One volume: a ZIP writer whose output goes to one multipart upload. */
class Volume {
  private readonly zip: Zip;
  private readonly hash: Hash = createHash('sha256');
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private uploadId: string | undefined;
  private readonly uploaded: { ETag: string; PartNumber: number }[] = [];
  private error: Error | null = null;
  private ended = false;
  /** Bytes of ZIP produced so far (sent or pending). */
  written = 0;
  /** Bytes of entries promised but not yet produced (a file being added). */
  entries = 0;

  constructor(
    private readonly target: ArchiveTarget,
    readonly part: number,
    readonly key: string,
    private readonly chunkBytes: number,
  ) {
    this.zip = new Zip((error, chunk, final) => {
      if (error) {
        this.error = error;
        return;
      }
      this.hash.update(chunk);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.written += chunk.length;
      if (final) this.ended = true;
    });
  }

  /** Adds one entry and streams `body` into it, uploading as chunks fill. */
  async add(entry: ZipPassThrough | ZipDeflate, body: AsyncIterable<Uint8Array>): Promise<number> {
    this.zip.add(entry);
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (this.written + chunk.length > ZIP32_LIMIT) throw new RangeError('the volume would pass 4 GiB, which a 32-bit ZIP cannot record');
      entry.push(chunk);
      await this.drain(false);
    }
    entry.push(new Uint8Array(0), true);
    await this.drain(false);
    return size;
  }

  async finish(): Promise<ArchivePart> {
    this.zip.end();
    if (this.error) throw this.error;
    if (!this.ended) throw new Error('the archive did not end');
    await this.drain(true);
    const { target } = this;
    await target.s3.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.uploaded } }));
    return { part: this.part, key: this.key, bytes: this.written, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (!this.uploadId) return;
    await this.target.s3.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.key, UploadId: this.uploadId }));
  }

  /** Sends full chunks; on `last`, whatever is left (S3 lets the last part be smaller). */
  private async drain(last: boolean): Promise<void> {
    if (this.error) throw this.error;
    while (this.pendingBytes >= this.chunkBytes || (last && (this.pendingBytes > 0 || this.uploaded.length === 0))) {
      const body = Buffer.concat(this.pending);
      const size = last ? body.length : this.chunkBytes;
      const send = body.subarray(0, size);
      const rest = body.subarray(size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.uploadId ??= await this.create();
      const PartNumber = this.uploaded.length + 1;
      const { ETag } = await this.target.s3.send(
        new UploadPartCommand({ Bucket: this.target.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: send, ContentLength: send.length }),
      );
      if (!ETag) throw new Error('S3 answered an uploaded part without its ETag');
      this.uploaded.push({ ETag, PartNumber });
      if (last && this.pendingBytes === 0) break;
    }
  }

  private async create(): Promise<string> {
    const { UploadId } = await this.target.s3.send(new CreateMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.key, ContentType: 'application/zip' }));
    if (!UploadId) throw new Error('S3 started a multipart upload without an id');
    return UploadId;
  }
}

/** An archive of one or more ZIP volumes, written in order. */
export class ExportArchive {
  private readonly partLimit: number;
  private readonly chunkBytes: number;
  private readonly parts: ArchivePart[] = [];
  private current: Volume;

  constructor(
    private readonly target: ArchiveTarget,
    private readonly keyOf: (part: number) => string,
    options: ArchiveOptions = {},
  ) {
    this.partLimit = options.partLimitBytes ?? 2 * 1024 * MIB;
    if (this.partLimit > MAX_PART_LIMIT) throw new RangeError('a volume is cut at 2 GiB at most, so that it stays a 32-bit ZIP');
    this.chunkBytes = Math.max(options.uploadChunkBytes ?? 8 * MIB, 5 * MIB);
    this.current = new Volume(target, 1, keyOf(1), this.chunkBytes);
  }

  /** A text entry (JSON Lines), compressed. */
  async addText(name: string, lines: AsyncIterable<string>): Promise<number> {
    return this.current.add(new ZipDeflate(name, { level: 6 }), encode(lines));
  }

  /**
   * A file stored as is (evidence is mostly compressed already), in the current volume unless it
   * would take it past the part limit. `size` is what the file is expected to be.
   */
  async addFile(name: string, size: number, body: AsyncIterable<Uint8Array>): Promise<number> {
    const needed = size + 2 * Buffer.byteLength(name) + ENTRY_OVERHEAD_BYTES;
    // A file over the part limit gets a volume of its own, which must still be a 32-bit ZIP.
    if (needed > ZIP32_LIMIT) throw new RangeError(`${name} is ${size} bytes: a 32-bit ZIP volume cannot hold it`);
    if (this.current.written > 0 && this.current.written + needed > this.partLimit) await this.nextVolume();
    return this.current.add(new ZipPassThrough(name), body);
  }

  /** Closes the last volume; every part, in order. */
  async finish(): Promise<ArchivePart[]> {
    this.parts.push(await this.current.finish());
    return [...this.parts];
  }

  /** Gives up: the unfinished volume's upload is aborted (finished volumes are the caller's to delete). */
  async abort(): Promise<readonly ArchivePart[]> {
    await this.current.abort();
    return this.parts;
  }

  private async nextVolume(): Promise<void> {
    this.parts.push(await this.current.finish());
    const part = this.parts.length + 1;
    this.current = new Volume(this.target, part, this.keyOf(part), this.chunkBytes);
  }
}

async function* encode(lines: AsyncIterable<string>): AsyncIterable<Uint8Array> {
  let batch: string[] = [];
  let size = 0;
  for await (const line of lines) {
    batch.push(line);
    size += line.length;
    if (size >= 256 * 1024) {
      yield Buffer.from(batch.join(''), 'utf8');
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join(''), 'utf8');
}
