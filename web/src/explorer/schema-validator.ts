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
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from '@rjsf/utils';
import type { ToolArguments } from './explorer-api.ts';
import { toRjsfErrors } from './schema-errors.ts';

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
