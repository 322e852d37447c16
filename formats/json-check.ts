// Whether bytes are one JSON object, decided without building it: a source that hands JSON texts on unparsed (see
// JsonTexts) still sends each text JSON.parse would refuse to dead-letter, for a tenth of JSON.parse's time and no
// garbage. Same verdict as `JSON.parse(bytes.toString('utf8'))` plus "is a plain object" (RFC 8259 grammar; bytes
// that are not UTF-8 are only accepted inside strings, where the decoder makes them U+FFFD).

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** What may follow `\` in a string: " \ / b f n r t (u is checked apart). */
const ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

const isHex = (c: number) => (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** True when `bytes` hold exactly one JSON object (whitespace around it allowed). */
export function isJsonObject(bytes: Uint8Array): boolean {
  const n = bytes.length;
  // Open containers, innermost last: true for an object, false for an array.
  const stack: boolean[] = [];
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_OBJECT) return false;
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === CLOSE_OBJECT) return skipSpace(bytes, i + 1) === n;
  stack.push(true);
  i = key(bytes, i);
  // Each turn reads one value, then what ends it: a comma (and, in an object, the next key) or closing brackets.
  while (i >= 0) {
    i = skipSpace(bytes, i);
    const c = bytes[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const object = c === OPEN_OBJECT;
      i = skipSpace(bytes, i + 1);
      if (bytes[i] !== (object ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        stack.push(object);
        if (object) i = key(bytes, i);
        continue;
      }
      i++;
    } else if (c === QUOTE) i = string(bytes, i);
    else if (c === MINUS || (c >= ZERO && c <= NINE)) i = number(bytes, i);
    else if (c === 0x74) i = literal(bytes, i, 'true');
    else if (c === 0x66) i = literal(bytes, i, 'false');
    else if (c === 0x6e) i = literal(bytes, i, 'null');
    else return false;
    // What follows a value: a comma, or closing brackets, as many as the containers it ends.
    while (i >= 0) {
      i = skipSpace(bytes, i);
      const object = stack[stack.length - 1];
      const after = bytes[i];
      if (after === COMMA) {
        i = object ? key(bytes, i + 1) : i + 1;
        break;
      }
      if (after !== (object ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      i++;
      stack.pop();
      if (!stack.length) return skipSpace(bytes, i) === n;
    }
  }
  return false;
}

// Each reader takes the index where its token starts and gives the index after it, or -1 when it is not one.

function skipSpace(bytes: Uint8Array, i: number): number {
  for (let c = bytes[i]; c === SPACE || c === LF || c === CR || c === TAB; c = bytes[++i]);
  return i;
}

/** A key and its colon (space before them allowed). */
function key(bytes: Uint8Array, i: number): number {
  i = skipSpace(bytes, i);
  if (bytes[i] !== QUOTE) return -1;
  i = string(bytes, i);
  if (i < 0) return -1;
  i = skipSpace(bytes, i);
  return bytes[i] === COLON ? i + 1 : -1;
}

function string(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  i++;
  while (i < n) {
    const c = bytes[i++];
    if (c === QUOTE) return i;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = bytes[i++];
      if (e === 0x75) {
        if (!(isHex(bytes[i]) && isHex(bytes[i + 1]) && isHex(bytes[i + 2]) && isHex(bytes[i + 3]))) return -1;
        i += 4;
      } else if (!ESCAPES.has(e)) return -1;
    }
  }
  return -1;
}

function digits(bytes: Uint8Array, i: number): number {
  const start = i;
  for (let c = bytes[i]; c >= ZERO && c <= NINE; c = bytes[++i]);
  return i > start ? i : -1;
}

function number(bytes: Uint8Array, i: number): number {
  if (bytes[i] === MINUS) i++;
  if (bytes[i] === ZERO) i++;
  else if ((i = digits(bytes, i)) < 0) return -1;
  if (bytes[i] === DOT && (i = digits(bytes, i + 1)) < 0) return -1;
  if (bytes[i] === 0x65 || bytes[i] === 0x45) {
    i++;
    if (bytes[i] === PLUS || bytes[i] === MINUS) i++;
    i = digits(bytes, i);
  }
  return i;
}

function literal(bytes: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}
