import { isoTime } from '../domain/time.js';

const DAY_MS = 86_400_000;
/** From here on years have five digits: `isoTime` writes those (and what is not whole milliseconds). */
const YEAR_10000 = 253_402_300_800_000;
const QUOTE = 0x22;
const ZERO = 0x30;

/**
 * JSON written as bytes into one growing buffer, for a batch's 10,000 decisions and a stream's
 * pages: no string is built per decision or line, so there are no string ropes to allocate and
 * flatten, and the buffer is sent as it is. What decisions share is encoded once and copied in (`bytes`); a string goes in byte by
 * byte while it is plain ASCII, and through JSON.stringify and UTF-8 when it has anything else (a
 * character to escape, or one beyond ASCII).
 */
export class JsonBytes {
  private buf: Buffer;
  private at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** The bytes written so far (a view of the buffer, not a copy). */
  written(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  get length(): number {
    return this.at;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Bytes that are JSON already (a segment encoded once and written many times). */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  private utf8(s: string): void {
    this.room(s.length * 3);
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  /** A string as a JSON string: quoted, and escaped as JSON.stringify escapes it when it needs it. */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const buf = this.buf;
    const start = this.at;
    let o = start;
    buf[o++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
        this.at = start;
        this.utf8(JSON.stringify(s));
        return;
      }
      buf[o++] = c;
    }
    buf[o++] = QUOTE;
    this.at = o;
  }

  /** A time as `isoTime` writes it, quoted. */
  time(ms: number): void {
    if (!(ms >= 0 && ms < YEAR_10000) || !Number.isInteger(ms)) {
      this.string(isoTime(ms));
      return;
    }
    this.room(26);
    const buf = this.buf;
    const o = this.at;
    // isoTime's arithmetic (days to a civil date, Howard Hinnant's civil_from_days), written out
    // again: shared through a function filling an array of fields, both ran 50% slower. The
    // unit tests hold both to toISOString.
    const days = Math.floor(ms / DAY_MS);
    let rest = ms - days * DAY_MS;
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1_000);
    const millis = rest - seconds * 1_000;
    buf[o] = QUOTE;
    buf[o + 1] = ZERO + Math.floor(year / 1000);
    buf[o + 2] = ZERO + (Math.floor(year / 100) % 10);
    buf[o + 3] = ZERO + (Math.floor(year / 10) % 10);
    buf[o + 4] = ZERO + (year % 10);
    buf[o + 5] = 0x2d; // -
    buf[o + 6] = ZERO + Math.floor(month / 10);
    buf[o + 7] = ZERO + (month % 10);
    buf[o + 8] = 0x2d;
    buf[o + 9] = ZERO + Math.floor(day / 10);
    buf[o + 10] = ZERO + (day % 10);
    buf[o + 11] = 0x54; // T
    buf[o + 12] = ZERO + Math.floor(hours / 10);
    buf[o + 13] = ZERO + (hours % 10);
    buf[o + 14] = 0x3a; // :
    buf[o + 15] = ZERO + Math.floor(minutes / 10);
    buf[o + 16] = ZERO + (minutes % 10);
    buf[o + 17] = 0x3a;
    buf[o + 18] = ZERO + Math.floor(seconds / 10);
    buf[o + 19] = ZERO + (seconds % 10);
    buf[o + 20] = 0x2e; // .
    buf[o + 21] = ZERO + Math.floor(millis / 100);
    buf[o + 22] = ZERO + (Math.floor(millis / 10) % 10);
    buf[o + 23] = ZERO + (millis % 10);
    buf[o + 24] = 0x5a; // Z
    buf[o + 25] = QUOTE;
    this.at = o + 26;
  }
}
