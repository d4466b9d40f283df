import { describe, expect, it } from 'vitest';
import { imageRefProblem, parseImageRef } from '../../src/protocol/image-ref.js';

describe('image references (Docker reference grammar)', () => {
  it.each([
    'busybox',
    'iron/hello:latest',
    'iron-test/busybox:1',
    'localhost:5000/a/b:tag',
    'registry.example.com/team/app:v1.2.3',
    'a__b/c-d.e_f',
    'a---b',
    'Registry.Example:443/x',
    '[::1]:5000/img:1',
    `app@sha256:${'a'.repeat(64)}`,
    `r.io/app:1@sha256:${'0'.repeat(64)}`,
    'x:_tag',
    'host:5000/a',
  ])('accepts %s', (ref) => {
    expect(imageRefProblem(ref)).toBeUndefined();
  });

  it.each([
    ['a/../../127.0.0.1:8080', /grammar/],
    ['a/./b', /grammar/],
    ['a b', /grammar/],
    ['', /empty/],
    ['upper/CASE', /lowercase/],
    ['app:', /grammar/],
    ['app:-tag', /grammar/],
    [`app:${'t'.repeat(129)}`, /grammar/],
    ['app@sha256:abc', /grammar/],
    ['/abs', /grammar/],
    ['a//b', /grammar/],
    ['a/b/', /grammar/],
    ['a._b', /grammar/],
    ['a\nb', /grammar/],
    ['img?x=1', /grammar/],
    ['img#frag', /grammar/],
    ['a%2F..%2Fb', /grammar/],
    ['a'.repeat(64).replace(/a/g, 'f'), /hexadecimal/],
    [`${'a'.repeat(250)}/${'b'.repeat(10)}`, /longer than 255/],
  ])('refuses %j', (ref, why) => {
    expect(imageRefProblem(ref)).toMatch(why);
  });

  it('splits name, tag and digest', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    expect(parseImageRef(`localhost:5000/a/b:t1@${d}`)).toEqual({ ok: true, ref: { name: 'localhost:5000/a/b', tag: 't1', digest: d } });
    expect(parseImageRef('busybox')).toEqual({ ok: true, ref: { name: 'busybox', tag: undefined, digest: undefined } });
  });
});
