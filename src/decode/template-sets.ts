/**
 * Template sets as they come: v9 template sets (RFC 3954 section 5.2) and options template sets
 * (6.1), IPFIX template and options template sets with their withdrawals (RFC 7011 section 3.4).
 * Every length is checked before it is read, each record against the caps before its fields are
 * built, and what is kept goes to the template store.
 */
import type { DatagramContext } from './datagram-context.ts';
import type { DecoderOptions } from './decoder-options.ts';
import { domainKey } from './exporter-state.ts';
import type { DecoderStats } from './stats.ts';
import type { TemplateField } from './template.ts';
import type { TemplateStore } from './template-store.ts';

export class TemplateSetReader {
  readonly #store: TemplateStore;
  readonly #stats: DecoderStats;
  readonly #maxFields: number;

  constructor(store: TemplateStore, options: DecoderOptions, stats: DecoderStats) {
    this.#store = store;
    this.#stats = stats;
    this.#maxFields = options.maxTemplateFields;
  }

  /** Reads the template set ctx.bytes[body, end) (an options template set when `options`). */
  read(ctx: DatagramContext, body: number, end: number, options: boolean): void {
    if (ctx.version === 9 && options) this.#readV9OptionTemplates(ctx, body, end);
    else this.#readTemplates(ctx, body, end, options);
  }

  /** v9 template sets, and IPFIX template and options template sets. */
  #readTemplates(ctx: DatagramContext, p: number, end: number, options: boolean): void {
    const s = this.#stats;
    const view = ctx.view;
    const version = ctx.version;
    const dk = domainKey(version, ctx.sourceId);
    const maxFields = this.#maxFields;
    while (p + 4 <= end) {
      const id = view.getUint16(p);
      const count = view.getUint16(p + 2);
      if (id === 0 && count === 0) break; // padding
      if (--ctx.work.templateRecords < 0) {
        s.limits.datagram_work++;
        return;
      }
      p += 4;
      if (version === 10 && count === 0) {
        this.#store.withdraw(ctx.state, dk, id, options);
        continue;
      }
      let scopeCount = 0;
      if (options) {
        if (p + 2 > end) {
          s.errors.template_overflow++;
          return;
        }
        scopeCount = view.getUint16(p);
        p += 2;
      }
      // A template that cannot be kept is walked over, never built: a hostile one costs its bytes only.
      const keep = count <= maxFields && (id < 256 || this.#store.roomForTemplate(ctx.state, dk, id, count, ctx.nowMs));
      const fields: TemplateField[] | undefined = keep ? [] : undefined;
      for (let i = 0; i < count; i++) {
        if (p + 4 > end) {
          s.errors.template_overflow++;
          return;
        }
        let type = view.getUint16(p);
        const length = view.getUint16(p + 2);
        p += 4;
        let enterprise = 0;
        if (version === 10 && type & 0x8000) {
          if (p + 4 > end) {
            s.errors.template_overflow++;
            return;
          }
          enterprise = view.getUint32(p);
          p += 4;
          type &= 0x7fff;
        }
        fields?.push({ type, length, enterprise, scope: i < scopeCount });
      }
      if (id < 256 || scopeCount > count) {
        s.errors.bad_template++;
        continue;
      }
      if (fields === undefined) {
        if (count > maxFields) {
          s.errors.template_too_large++;
          s.limits.template_fields++;
        }
        continue;
      }
      this.#store.addTemplate(ctx.state, dk, id, options, fields, ctx.nowMs);
    }
  }

  /** v9 options templates: scope and option field lists given as byte lengths. */
  #readV9OptionTemplates(ctx: DatagramContext, p: number, end: number): void {
    const s = this.#stats;
    const view = ctx.view;
    const dk = domainKey(9, ctx.sourceId);
    while (p + 6 <= end) {
      const id = view.getUint16(p);
      const scopeLength = view.getUint16(p + 2);
      const optionsLength = view.getUint16(p + 4);
      if (id === 0 && scopeLength === 0 && optionsLength === 0) break; // padding
      if (--ctx.work.templateRecords < 0) {
        s.limits.datagram_work++;
        return;
      }
      p += 6;
      if (scopeLength % 4 !== 0 || optionsLength % 4 !== 0) {
        s.errors.bad_template++;
        return;
      }
      if (p + scopeLength + optionsLength > end) {
        s.errors.template_overflow++;
        return;
      }
      const scopeCount = scopeLength / 4;
      const n = scopeCount + optionsLength / 4;
      if (n > this.#maxFields || (id >= 256 && !this.#store.roomForTemplate(ctx.state, dk, id, n, ctx.nowMs))) {
        p += scopeLength + optionsLength;
        if (n > this.#maxFields) {
          s.errors.template_too_large++;
          s.limits.template_fields++;
        }
        continue;
      }
      const fields: TemplateField[] = [];
      for (let i = 0; i < n; i++, p += 4) {
        fields.push({ type: view.getUint16(p), length: view.getUint16(p + 2), enterprise: 0, scope: i < scopeCount });
      }
      if (id < 256) {
        s.errors.bad_template++;
        continue;
      }
      this.#store.addTemplate(ctx.state, dk, id, true, fields, ctx.nowMs);
    }
  }
}
