import { crc32, deflate, deflateSync, constants } from 'node:zlib';
import { promisify } from 'node:util';
import { PNG_SIGNATURE } from '../stream/multipart-format.js';

const deflateAsync = promisify(deflate);
const DEFLATE_OPTIONS = { level: constants.Z_BEST_COMPRESSION, memLevel: 9 };

/**
 * An encoder of 8-bit palette PNGs with one fixed palette and size. Frames go to
 * every viewer at every change, so each byte counts: a palette image carrying only
 * the chunks a decoder needs is a third of the RGBA PNG a canvas writes. Every frame
 * of one encoder starts with the same bytes (signature, IHDR, PLTE, tRNS), which the
 * stream's heartbeat relies on.
 */
export class PalettePngEncoder {
  private readonly header: Buffer;
  private readonly rowLength: number;

  /** `palette`: RGBA entries, 4 bytes each, at most 256; translucent ones first keep tRNS short. */
  constructor(
    readonly width: number,
    readonly height: number,
    palette: Uint8Array,
  ) {
    const entries = palette.length / 4;
    if (!Number.isInteger(entries) || entries < 1 || entries > 256) {
      throw new RangeError(`A PNG palette holds 1 to 256 RGBA entries; got ${palette.length} bytes.`);
    }
    const rgb = Buffer.alloc(entries * 3);
    let lastTranslucent = -1;
    for (let i = 0; i < entries; i++) {
      rgb.set(palette.subarray(i * 4, i * 4 + 3), i * 3);
      if (palette[i * 4 + 3] < 255) lastTranslucent = i;
    }
    const alphas = Buffer.alloc(lastTranslucent + 1);
    for (let i = 0; i <= lastTranslucent; i++) alphas[i] = palette[i * 4 + 3];
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr.set([8, 3, 0, 0, 0], 8); // 8 bits per index, palette, deflate, adaptive filters, not interlaced
    this.header = Buffer.concat([
      PNG_SIGNATURE,
      pngChunk('IHDR', ihdr),
      pngChunk('PLTE', rgb),
      alphas.length > 0 ? pngChunk('tRNS', alphas) : Buffer.alloc(0),
    ]);
    this.rowLength = width + 1;
  }

  /** The image data for palette indices, one byte a pixel, row by row. */
  scanlines(indices: Uint8Array): Buffer {
    // Filter type 0 on every row: for palette images the usual best, and measured so here.
    const lines = Buffer.alloc(this.rowLength * this.height);
    for (let y = 0; y < this.height; y++) {
      lines.set(indices.subarray(y * this.width, (y + 1) * this.width), y * this.rowLength + 1);
    }
    return lines;
  }

  /** Compressed on the thread pool, off the event loop. */
  async encode(indices: Uint8Array): Promise<Buffer> {
    return this.assemble(await deflateAsync(this.scanlines(indices), DEFLATE_OPTIONS));
  }

  encodeSync(indices: Uint8Array): Buffer {
    return this.assemble(deflateSync(this.scanlines(indices), DEFLATE_OPTIONS));
  }

  private assemble(data: Buffer): Buffer {
    return Buffer.concat([this.header, pngChunk('IDAT', data), pngChunk('IEND', Buffer.alloc(0))]);
  }
}

/** One PNG chunk: length, type, data and CRC (PNG §5.3). */
export function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
