// Compiles every event schema once (ajv) and upcasts stored events of older versions.

import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { schemas, upcasters, versions, type EventType } from './types.js';

const addFormats = addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv };

export type Upcaster = (data: unknown) => unknown;

export interface EventDefinition {
  version: number;
  schema: object;
  /** upcasters[n] turns data of version n into version n + 1. */
  upcasters?: Record<number, Upcaster>;
}

export class EventSchemaError extends Error {
  readonly code = 'ERR_EVENT_SCHEMA';
  constructor(
    readonly eventType: string,
    /** JSON Pointer of the failing field, e.g. "/scopes/0"; "" for the whole event. */
    readonly field: string,
    /** What is wrong with the field, e.g. "must match pattern …". */
    readonly detail: string,
  ) {
    super(`${eventType} event rejected: ${field || '(root)'} ${detail}`);
    this.name = 'EventSchemaError';
  }
}

export class EventCatalogue {
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #definitions: ReadonlyMap<string, EventDefinition>;

  constructor(definitions: Record<string, EventDefinition>) {
    const ajv = new Ajv({ allErrors: false, strict: true });
    addFormats.default(ajv);
    this.#definitions = new Map(Object.entries(definitions));
    for (const [type, definition] of this.#definitions) {
      this.#validators.set(type, ajv.compile(definition.schema));
    }
  }

  has(type: string): boolean {
    return this.#definitions.has(type);
  }

  version(type: string): number {
    const definition = this.#definitions.get(type);
    if (!definition) throw new EventSchemaError(type, '', 'is not a known event type');
    return definition.version;
  }

  /** Throws EventSchemaError naming the type and the first failing field. */
  validate(type: string, data: unknown): void {
    const validate = this.#validators.get(type);
    if (!validate) throw new EventSchemaError(type, '', 'is not a known event type');
    if (validate(data)) return;
    const [error] = validate.errors ?? [];
    let field = error?.instancePath ?? '';
    if (error?.keyword === 'required') field += `/${String(error.params['missingProperty'])}`;
    if (error?.keyword === 'additionalProperties') field += `/${String(error.params['additionalProperty'])}`;
    throw new EventSchemaError(type, field, error?.message ?? 'is invalid');
  }

  /** Brings stored data of an older version up to the current one. Unknown types pass through. */
  upcast(type: string, version: number, data: unknown): { version: number; data: unknown } {
    const definition = this.#definitions.get(type);
    if (!definition) return { version, data };
    let current = version;
    let value = data;
    while (current < definition.version) {
      const upcaster = definition.upcasters?.[current];
      if (!upcaster) throw new EventSchemaError(type, '', `has no upcaster from version ${current}`);
      value = upcaster(value);
      current += 1;
    }
    return { version: current, data: value };
  }
}

export const warrantEvents = new EventCatalogue(
  Object.fromEntries(
    (Object.keys(schemas) as EventType[]).map((type) => [type, { version: versions[type], schema: schemas[type], ...(upcasters[type] ? { upcasters: upcasters[type] } : {}) }]),
  ),
);
