/** User Data Header information elements (TS 23.040 §9.2.3.24) that the gateway acts on. Pure. */

export interface UdhInfo {
  /** Concatenation (IE 0x00 with an 8-bit reference, or 0x08 with a 16-bit one). */
  concat?: { ref: number; total: number; seq: number } | undefined;
  /** National language single shift (IE 0x24): the language id. */
  singleShift?: number | undefined;
}

/** Reads the elements of a UDH given without its length octet. Unknown elements are skipped. */
export function parseUdh(udh: Uint8Array): UdhInfo {
  const b = Buffer.from(udh.buffer, udh.byteOffset, udh.byteLength);
  const info: UdhInfo = {};
  for (let i = 0; i + 2 <= b.length;) {
    const iei = b[i] as number;
    const len = b[i + 1] as number;
    const d = b.subarray(i + 2, i + 2 + len);
    // An element cut short by the end of the header is not read (the SMPP fuzzer sent one).
    if (d.length < len) break;
    if (iei === 0x00 && len === 3)
      info.concat = { ref: d[0] as number, total: d[1] as number, seq: d[2] as number };
    if (iei === 0x08 && len === 4)
      info.concat = { ref: d.readUInt16BE(0), total: d[2] as number, seq: d[3] as number };
    if (iei === 0x24 && len === 1) info.singleShift = d[0];
    i += 2 + len;
  }
  return info;
}
