import { describe, expect, it } from 'vitest';
import { isJsonObject } from './json-check.ts';

/** The verdict the check must give: JSON.parse of the decoded bytes is a plain object. */
function parsesToObject(bytes: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return !!value && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

const samples = [
  '{}',
  ' {\n "a" : 1 }\r\n',
  '{"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":false},"g":"x\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u00e9"}',
  '{"n":[-0,0.5,-1.5e10,2E-3,1e+2,123456789012345678901234567890]}',
  '{"a":"é€😀"}',
  '{"a":[]}',
  '{"a":{}}',
  '{"a":[[],[[]],{}]}',
  // Refused:
  '',
  ' ',
  '[]',
  '"x"',
  '1',
  'null',
  '{',
  '}',
  '{"a"}',
  '{"a":}',
  '{"a":1,}',
  '{,"a":1}',
  '{"a":1 "b":2}',
  '{"a":[1,]}',
  '{"a":[,1]}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":-}',
  '{"a":1e}',
  '{"a":+1}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":tru}',
  '{"a":truex}',
  "{'a':1}",
  '{a:1}',
  '{"a":"\\x"}',
  '{"a":"\\u12"}',
  '{"a":"\\u12g4"}',
  '{"a":"tab\there"}',
  '{"a":"line\nbreak"}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '\ufeff{"a":1}',
  '{"a":[1}',
  '{"a":{]}',
  '{"a":1]',
];

describe('isJsonObject', () => {
  it('gives the verdict of JSON.parse on valid and invalid texts', () => {
    for (const text of samples)
      expect([text, isJsonObject(Buffer.from(text))]).toEqual([text, parsesToObject(Buffer.from(text))]);
    // Bytes that are not UTF-8: inside a string the decoder makes them U+FFFD (accepted), outside they are refused.
    const inString = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]);
    const outside = Buffer.concat([Buffer.from('{"a":1'), Buffer.from([0xff]), Buffer.from('}')]);
    expect([isJsonObject(inString), isJsonObject(outside)]).toEqual([
      parsesToObject(inString),
      parsesToObject(outside),
    ]);
    expect(isJsonObject(inString)).toBe(true);
  });

  it('agrees with JSON.parse on every prefix and one-byte change of valid objects', () => {
    const bytes = [...' {}[]",:0123456789.-+eEtrufalsn\\\t\n/x'].map((c) => c.charCodeAt(0));
    let checked = 0;
    for (const text of [samples[2], samples[3], samples[7], '{"k":{"l":[true,false,null,-1.25e-3,"s"]}}']) {
      const valid = Buffer.from(text);
      for (let cut = 0; cut <= valid.length; cut++) {
        const prefix = valid.subarray(0, cut);
        expect([text, cut, isJsonObject(prefix)]).toEqual([text, cut, parsesToObject(prefix)]);
      }
      for (let at = 0; at < valid.length; at++) {
        for (const b of bytes) {
          const changed = Buffer.from(valid);
          changed[at] = b;
          expect([changed.toString(), isJsonObject(changed)]).toEqual([changed.toString(), parsesToObject(changed)]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });
});
