export * from './types.js';
export { EventCatalogue, EventSchemaError, warrantEvents, type EventDefinition, type Upcaster } from './catalogue.js';
