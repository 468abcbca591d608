import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';

/**
 * One JSON Schema validator for every downstream session: the SDK's default builds a fresh Ajv per
 * server instance (about 3 ms of CPU each), and the gateway makes one server per session.
 */
export const sharedSchemaValidator = new AjvJsonSchemaValidator();
