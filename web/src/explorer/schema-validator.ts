/**
 * A validator for `@rjsf/core` forms built on `@cfworker/json-schema`. rjsf's usual validator
 * compiles each schema into a function at run time, which the page's Content-Security-Policy (no
 * `unsafe-eval`) forbids; this one interprets the schema instead.
 */
import { Validator, type OutputUnit, type Schema, type SchemaDraft } from '@cfworker/json-schema';
import {
  createErrorHandler,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from '@rjsf/utils';
import type { ToolArguments } from './explorer-api.ts';

/**
 * The draft a schema says it follows; MCP's default dialect (2020-12) when it names none. Schemas
 * of drafts 6 and 7 are read as draft 7, the closest the library knows.
 */
export function draftOf(schema: RJSFSchema): SchemaDraft {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (dialect.includes('draft-04')) return '4';
  if (dialect.includes('draft-06') || dialect.includes('draft-07')) return '7';
  if (dialect.includes('2019-09')) return '2019-09';
  return '2020-12';
}

/** Keywords whose errors only say that something deeper failed; the deeper error says what. */
const WRAPPERS: ReadonlySet<string> = new Set([
  'properties',
  'patternProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  'unevaluatedProperties',
  'allOf',
  '$ref',
  '$recursiveRef',
  'if',
  'dependentSchemas',
  'false',
]);

/** Keywords whose sub-schemas are alternatives: the errors of the alternatives are noise. */
const ALTERNATIVES: ReadonlySet<string> = new Set(['anyOf', 'oneOf', 'not']);

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'empty (null)',
};

function lastNumber(text: string): string {
  const numbers = text.match(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi);
  return numbers?.[numbers.length - 1] ?? '';
}

/** The library's message in words for people. */
function plainMessage(unit: OutputUnit): string {
  const text = unit.error;
  switch (unit.keyword) {
    case 'required':
      return 'This field is required.';
    case 'type': {
      const expected = /Expected "(.+)"\.$/.exec(text)?.[1]?.split('", "') ?? [];
      const words = expected.map((type) => TYPE_WORDS[type] ?? type);
      return words.length > 0 ? `Should be ${words.join(' or ')}.` : 'Has the wrong type.';
    }
    case 'minLength':
      return `Should be at least ${lastNumber(text)} characters long.`;
    case 'maxLength':
      return `Should be at most ${lastNumber(text)} characters long.`;
    case 'minimum':
    case 'exclusiveMinimum':
      return text.includes('or equal') || unit.keyword === 'exclusiveMinimum'
        ? `Should be more than ${lastNumber(text)}.`
        : `Should be at least ${lastNumber(text)}.`;
    case 'maximum':
    case 'exclusiveMaximum':
      return text.includes('or equal') || unit.keyword === 'exclusiveMaximum'
        ? `Should be less than ${lastNumber(text)}.`
        : `Should be at most ${lastNumber(text)}.`;
    case 'multipleOf':
      return `Should be a multiple of ${lastNumber(text)}.`;
    case 'pattern':
      return 'Does not have the expected form.';
    case 'format': {
      const format = /format "(.+)"/.exec(text)?.[1];
      return format === undefined ? 'Does not have the expected format.' : `Should be a valid ${format}.`;
    }
    case 'enum':
      return 'Should be one of the listed values.';
    case 'const':
      return `Should be ${text.replace(/^Instance does not match /, '').replace(/\.$/, '')}.`;
    case 'minItems':
      return `Should have at least ${lastNumber(text)} items.`;
    case 'maxItems':
      return `Should have at most ${lastNumber(text)} items.`;
    case 'uniqueItems':
      return 'The items should all be different.';
    case 'anyOf':
      return 'Does not match any of the allowed forms.';
    case 'oneOf':
      return 'Should match exactly one of the allowed forms.';
    case 'not':
      return 'This value is not allowed.';
    default:
      return text.replace(/^Instance/, 'The value');
  }
}

/** `#/a/0/b` (a JSON pointer as the library writes it) → `.a.0.b` (rjsf's property path). */
function propertyOf(instanceLocation: string): string {
  const pointer = instanceLocation.replace(/^#/, '');
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not percent-encoded after all: keep it as written.
      }
      return `.${decoded.replace(/~1/g, '/').replace(/~0/g, '~')}`;
    })
    .join('');
}

/** The library's errors as rjsf's: the most specific ones only, each at its field. */
export function toRjsfErrors(units: readonly OutputUnit[]): RJSFValidationError[] {
  const alternatives = units
    .filter((unit) => ALTERNATIVES.has(unit.keyword))
    .map((unit) => `${unit.keywordLocation}/`);
  const seen = new Set<string>();
  const errors: RJSFValidationError[] = [];
  for (const unit of units) {
    if (WRAPPERS.has(unit.keyword)) continue;
    if (alternatives.some((prefix) => unit.keywordLocation.startsWith(prefix))) continue;
    let property = propertyOf(unit.instanceLocation);
    if (unit.keyword === 'required') {
      const missing = /required property "(.*)"\.$/.exec(unit.error)?.[1];
      if (missing !== undefined) property = `${property}.${missing}`;
    }
    const message = plainMessage(unit);
    const key = `${property}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({
      name: unit.keyword,
      property: property === '' ? '.' : property,
      message,
      schemaPath: unit.keywordLocation,
      stack: property === '' ? message : `${property.slice(1)}: ${message}`,
    });
  }
  return errors;
}

/** rjsf validates sub-schemas against the root one: keep the root's definitions in reach of `$ref`. */
function withRootDefinitions(schema: RJSFSchema, rootSchema: RJSFSchema): RJSFSchema {
  if (schema === rootSchema) return schema;
  const combined: RJSFSchema = { ...schema };
  if (rootSchema.$defs !== undefined) combined.$defs = { ...rootSchema.$defs, ...schema.$defs };
  if (rootSchema.definitions !== undefined)
    combined.definitions = { ...rootSchema.definitions, ...schema.definitions };
  return combined;
}

/** The rjsf validator of the Tool explorer's forms (see the file's opening comment). */
export class InterpretingValidator implements ValidatorType<ToolArguments, RJSFSchema> {
  /** Built validators by schema, then by root schema: rjsf asks `isValid` many times per render. */
  #cache = new WeakMap<RJSFSchema, WeakMap<RJSFSchema, Validator>>();

  #validatorFor(schema: RJSFSchema, rootSchema: RJSFSchema): Validator {
    let byRoot = this.#cache.get(schema);
    if (byRoot === undefined) {
      byRoot = new WeakMap();
      this.#cache.set(schema, byRoot);
    }
    let validator = byRoot.get(rootSchema);
    if (validator === undefined) {
      const combined = withRootDefinitions(schema, rootSchema);
      validator = new Validator(combined as Schema, draftOf(rootSchema), false);
      byRoot.set(rootSchema, validator);
    }
    return validator;
  }

  /** Validates the whole form; errors land beside their fields through the `errorSchema`. */
  validateFormData(
    formData: ToolArguments | undefined,
    schema: RJSFSchema,
    customValidate?: CustomValidator<ToolArguments, RJSFSchema>,
    transformErrors?: ErrorTransformer<ToolArguments, RJSFSchema>,
    uiSchema?: UiSchema<ToolArguments, RJSFSchema>,
  ): ValidationData<ToolArguments> {
    const raw = this.rawValidation<OutputUnit>(schema, formData);
    let errors =
      raw.validationError === undefined
        ? toRjsfErrors(raw.errors ?? [])
        : [
            {
              property: '.',
              message: `The tool's input schema cannot be checked here: ${raw.validationError.message}`,
              stack: `The tool's input schema cannot be checked here: ${raw.validationError.message}`,
            },
          ];
    if (transformErrors !== undefined) errors = transformErrors(errors, uiSchema);
    const validation: ValidationData<ToolArguments> = { errors, errorSchema: toErrorSchema(errors) };
    if (customValidate === undefined) return validation;
    const handler = customValidate(
      formData,
      createErrorHandler(formData ?? {}),
      uiSchema,
      validation.errorSchema,
    );
    return validationDataMerge(validation, unwrapErrorHandler(handler));
  }

  /** Whether the data fits the schema; a schema the library cannot read fits nothing. */
  isValid(schema: RJSFSchema, formData: ToolArguments | undefined, rootSchema: RJSFSchema): boolean {
    try {
      return this.#validatorFor(schema, rootSchema).validate(formData).valid;
    } catch {
      return false;
    }
  }

  /** The library's own errors, or the reason the schema could not be used. */
  rawValidation<Result = OutputUnit>(
    schema: RJSFSchema,
    formData?: ToolArguments,
  ): { errors?: Result[]; validationError?: Error } {
    try {
      const result = this.#validatorFor(schema, schema).validate(formData ?? {});
      // The library's units are the errors this validator reports.
      return { errors: result.errors as Result[] };
    } catch (error) {
      return { validationError: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  /** Forgets the built validators. */
  reset(): void {
    this.#cache = new WeakMap();
  }
}

/** The one validator the explorer's forms share. */
export const schemaValidator = new InterpretingValidator();
