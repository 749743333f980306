/**
 * The byte arena: lines kept by owner from page to page, dropped when a page does not write them,
 * their bytes reclaimed, and what a writer gets is always the owner's own line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteArena } from '../../src/observe/byte-arena.ts';
import { ByteWriter } from '../../src/observe/byte-writer.ts';

test('pages of lines come out as written, through drops, slot reuse and reclaiming, for random pages', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.nat(60), { maxLength: 80 }), { minLength: 1, maxLength: 40 }), (pages) => {
      const arena = new ByteArena();
      const owners = Array.from({ length: 61 }, () => ({}));
      const slots = new Map<object, number>();
      const text = (i: number) => `line ${i} ü ${'x'.repeat(i * 37)}|`;
      for (const page of pages) {
        const w = new ByteWriter(16);
        for (const i of page) {
          const o = owners[i];
          let slot = slots.get(o);
          if (slot === undefined || !arena.holds(slot, o)) slots.set(o, (slot = arena.add(o, text(i))));
          arena.writeTo(w, slot);
        }
        arena.sweep();
        assert.equal(w.toString(), page.map(text).join(''));
      }
    }),
    { numRuns: 300 },
  );
});

test('a line not written on a page is dropped after it; its slot and bytes go to others', () => {
  const arena = new ByteArena();
  const [a, b] = [{}, {}];
  const sa = arena.add(a, 'a'.repeat(40_000));
  arena.writeTo(new ByteWriter(), sa);
  arena.sweep();
  assert.ok(arena.holds(sa, a));
  arena.sweep();
  assert.equal(arena.holds(sa, a), false, 'not written on the last page: dropped');
  const sb = arena.add(b, 'b'.repeat(40_000));
  assert.equal(sb, sa, 'the slot is reused');
  assert.equal(arena.holds(sb, a), false);
  // A hundred rounds of a 40 KB line replaced each page: the buffer stays a few times the live bytes.
  for (let i = 0; i < 100; i++) {
    const o = {};
    arena.writeTo(new ByteWriter(), arena.add(o, 'c'.repeat(40_000)));
    arena.sweep();
  }
  assert.ok(arena.bytes <= 4 * 40_000 + 64 * 1024, `${arena.bytes} bytes held`);
});
